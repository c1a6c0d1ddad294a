// The slot's shared RocksDB memory as Flink's RocksDBMemoryControllerUtils builds it: one LRU
// block cache with a high-priority pool (`memory.high-prio-pool-ratio`) and a write buffer
// manager charged to it. RocksDB's C API has no setter for the pool ratio, so this shim creates
// both objects in C++ and installs them into a column family's or the DB's options.
//
// Compiled by build.rs against the public headers of the RocksDB that librocksdb-sys
// 0.19.0+11.8.1 bundles (RocksDB 11.8.1), the version the prebuilt library was built from.

#include <cstddef>
#include <cstring>
#include <memory>
#include <string>

#include "rocksdb/advanced_cache.h"
#include "rocksdb/cache.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/write_buffer_manager.h"

using ROCKSDB_NAMESPACE::BlockBasedTableOptions;
using ROCKSDB_NAMESPACE::Cache;
using ROCKSDB_NAMESPACE::LRUCacheOptions;
using ROCKSDB_NAMESPACE::NewBlockBasedTableFactory;
using ROCKSDB_NAMESPACE::Options;
using ROCKSDB_NAMESPACE::WriteBufferManager;

// The C API's handle of an Options object, exactly as rocksdb/db/c.cc of RocksDB 11.8.1
// defines it (`struct rocksdb_options_t { Options rep; };`); rust-rocksdb's
// `AsRawPtr::as_raw_ptr` hands out pointers to these.
struct rocksdb_options_t {
  Options rep;
};

// The shared cache and write buffer manager; options that use them hold their own references.
struct statebench_shared_memory {
  std::shared_ptr<Cache> cache;
  std::shared_ptr<WriteBufferManager> write_buffer_manager;
};

extern "C" {

// Flink's `new LRUCache(capacity, -1, false, highPriorityPoolRatio)` and
// `new WriteBufferManager(writeBufferCapacity, cache)`. Null if RocksDB rejects the ratio.
statebench_shared_memory* statebench_shared_memory_create(
    size_t cache_capacity, double high_pri_pool_ratio, size_t write_buffer_capacity) {
  LRUCacheOptions cache_options;
  cache_options.capacity = cache_capacity;
  cache_options.num_shard_bits = -1;
  cache_options.strict_capacity_limit = false;
  cache_options.high_pri_pool_ratio = high_pri_pool_ratio;
  cache_options.low_pri_pool_ratio = 0.0;
  std::shared_ptr<Cache> cache = cache_options.MakeSharedCache();
  if (!cache) {
    return nullptr;
  }
  auto manager = std::make_shared<WriteBufferManager>(write_buffer_capacity, cache, false);
  return new statebench_shared_memory{cache, manager};
}

void statebench_shared_memory_destroy(statebench_shared_memory* memory) { delete memory; }

// Makes `options` read blocks through the shared cache: its block-based table factory is
// replaced by one with the same table options and the shared cache. 0 if the options have no
// block-based table factory.
int statebench_options_set_shared_block_cache(rocksdb_options_t* options,
                                              const statebench_shared_memory* memory) {
  if (!options->rep.table_factory) {
    return 0;
  }
  const BlockBasedTableOptions* table =
      options->rep.table_factory->GetOptions<BlockBasedTableOptions>();
  if (table == nullptr) {
    return 0;
  }
  BlockBasedTableOptions shared = *table;
  shared.block_cache = memory->cache;
  options->rep.table_factory.reset(NewBlockBasedTableFactory(shared));
  return 1;
}

// Makes the DB's memtables charge the shared write buffer manager.
void statebench_options_set_shared_write_buffer_manager(rocksdb_options_t* options,
                                                        const statebench_shared_memory* memory) {
  options->rep.write_buffer_manager = memory->write_buffer_manager;
}

// The block cache's options as RocksDB prints them (capacity, shards, high_pri_pool_ratio...),
// copied into `out` (at most `len` bytes, not terminated); returns the full length.
size_t statebench_shared_memory_cache_options(const statebench_shared_memory* memory, char* out,
                                              size_t len) {
  std::string text = memory->cache->GetPrintableOptions();
  std::memcpy(out, text.data(), text.size() < len ? text.size() : len);
  return text.size();
}

size_t statebench_shared_memory_cache_capacity(const statebench_shared_memory* memory) {
  return memory->cache->GetCapacity();
}

size_t statebench_shared_memory_write_buffer_size(const statebench_shared_memory* memory) {
  return memory->write_buffer_manager->buffer_size();
}

}  // extern "C"
