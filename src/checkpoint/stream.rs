//! The full-snapshot stream: the whole keyed state written as one file, key group by key group,
//! state by state, as Flink's `FullSnapshotAsyncWriter` does. Both backends write and read it;
//! each decides what its keys and values hold.
//!
//! Layout (integers big-endian, like Java's DataOutputStream):
//! ```text
//! header   "SBFS" u32:version u32:max_parallelism u16:states { u16:len name u8:kind }*
//! body     { u32:key_group { u16:state { 0x01 u32:klen key u32:vlen value }* 0x00 }* u16:0xFFFF }*
//! trailer  u32:0xFFFFFFFF u64:entries u32:crc32(header and body)
//! ```

use std::io::{BufReader, BufWriter, Read, Write};

use anyhow::{bail, ensure, Context, Result};

use crate::workload::{StateId, StateKind};

const MAGIC: &[u8; 4] = b"SBFS";
const VERSION: u32 = 1;
const END_OF_KEY_GROUP: u16 = 0xFFFF;
const END_OF_STREAM: u32 = 0xFFFF_FFFF;
/// Upper bound for one key or value, so a corrupt length cannot ask for a huge allocation.
const MAX_FIELD_BYTES: u32 = 1 << 30;

/// Name of the file a full checkpoint writes its stream into, in the checkpoint's directory.
pub const FULL_SNAPSHOT_FILE: &str = "full-snapshot.bin";

/// The states a stream holds, checked on restore against the backend being restored.
pub type StreamLayout = Vec<(String, StateKind)>;

/// The byte a stream's header gives a state kind (the heap checkpoint's header uses it too).
pub fn kind_code(kind: StateKind) -> u8 {
    match kind {
        StateKind::Value => 0,
        StateKind::List => 1,
        StateKind::Map => 2,
        StateKind::Timer => 3,
    }
}

/// Writes a full snapshot; entries must come in (key group, state) order.
pub struct StreamWriter<W: Write> {
    out: BufWriter<W>,
    crc: crc32fast::Hasher,
    bytes: u64,
    entries: u64,
    position: Option<(u32, Option<StateId>)>,
}

impl<W: Write> StreamWriter<W> {
    /// Starts a stream for the given states.
    pub fn new(out: W, max_parallelism: u32, layout: &StreamLayout) -> Result<Self> {
        let mut w = StreamWriter {
            out: BufWriter::with_capacity(1 << 16, out),
            crc: crc32fast::Hasher::new(),
            bytes: 0,
            entries: 0,
            position: None,
        };
        w.put(MAGIC)?;
        w.put(&VERSION.to_be_bytes())?;
        w.put(&max_parallelism.to_be_bytes())?;
        w.put(&(layout.len() as u16).to_be_bytes())?;
        for (name, kind) in layout {
            w.put(&(name.len() as u16).to_be_bytes())?;
            w.put(name.as_bytes())?;
            w.put(&[kind_code(*kind)])?;
        }
        Ok(w)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.crc.update(bytes);
        self.bytes += bytes.len() as u64;
        self.out
            .write_all(bytes)
            .context("writing checkpoint stream")
    }

    fn close_state(&mut self) -> Result<()> {
        if let Some((_, Some(_))) = self.position {
            self.put(&[0])?;
        }
        Ok(())
    }

    fn close_key_group(&mut self) -> Result<()> {
        self.close_state()?;
        if self.position.is_some() {
            self.put(&END_OF_KEY_GROUP.to_be_bytes())?;
        }
        Ok(())
    }

    /// Appends one entry of `state` in `key_group`.
    pub fn entry(
        &mut self,
        key_group: u32,
        state: StateId,
        key: &[u8],
        value: &[u8],
    ) -> Result<()> {
        match self.position {
            Some((kg, Some(s))) if kg == key_group && s == state => {}
            Some((kg, current)) if kg == key_group => {
                ensure!(
                    current.is_none_or(|s| s < state),
                    "checkpoint stream: state {state} after state {current:?} in key group {kg}"
                );
                self.close_state()?;
                self.put(&state.to_be_bytes())?;
                self.position = Some((kg, Some(state)));
            }
            previous => {
                if let Some((kg, _)) = previous {
                    ensure!(
                        kg < key_group,
                        "checkpoint stream: key group {key_group} after {kg}"
                    );
                }
                self.close_key_group()?;
                self.put(&key_group.to_be_bytes())?;
                self.put(&state.to_be_bytes())?;
                self.position = Some((key_group, Some(state)));
            }
        }
        self.put(&[1])?;
        self.put(&(key.len() as u32).to_be_bytes())?;
        self.put(key)?;
        self.put(&(value.len() as u32).to_be_bytes())?;
        self.put(value)?;
        self.entries += 1;
        Ok(())
    }

    /// Ends the stream and returns (bytes written, entries written).
    pub fn finish(mut self) -> Result<(u64, u64)> {
        self.close_key_group()?;
        self.put(&END_OF_STREAM.to_be_bytes())?;
        let entries = self.entries;
        self.put(&entries.to_be_bytes())?;
        let crc = self.crc.clone().finalize();
        self.out
            .write_all(&crc.to_be_bytes())
            .context("writing checkpoint stream")?;
        self.out.flush().context("flushing checkpoint stream")?;
        Ok((self.bytes + 4, entries))
    }
}

/// One entry read back from a stream.
#[derive(Debug, PartialEq, Eq)]
pub struct StreamEntry<'a> {
    /// Key group of the entry.
    pub key_group: u32,
    /// State of the entry.
    pub state: StateId,
    /// Backend-defined key bytes.
    pub key: &'a [u8],
    /// Backend-defined value bytes.
    pub value: &'a [u8],
}

/// Reads a full snapshot back, checking its structure, entry count and checksum.
pub struct StreamReader<R: Read> {
    input: BufReader<R>,
    crc: crc32fast::Hasher,
    key_group: Option<u32>,
    state: Option<StateId>,
    states: usize,
    entries: u64,
    key: Vec<u8>,
    value: Vec<u8>,
    done: bool,
}

impl<R: Read> StreamReader<R> {
    /// Opens a stream and checks that it holds `layout` with `max_parallelism` key groups.
    pub fn open(input: R, max_parallelism: u32, layout: &StreamLayout) -> Result<Self> {
        let mut r = StreamReader {
            input: BufReader::with_capacity(1 << 16, input),
            crc: crc32fast::Hasher::new(),
            key_group: None,
            state: None,
            states: layout.len(),
            entries: 0,
            key: Vec::new(),
            value: Vec::new(),
            done: false,
        };
        let mut magic = [0; 4];
        r.take(&mut magic)?;
        ensure!(&magic == MAGIC, "not a statebench checkpoint stream");
        let version = r.u32()?;
        ensure!(
            version == VERSION,
            "checkpoint stream version {version}, expected {VERSION}"
        );
        let mp = r.u32()?;
        ensure!(
            mp == max_parallelism,
            "checkpoint has max parallelism {mp}, expected {max_parallelism}"
        );
        let n = r.u16()? as usize;
        ensure!(
            n == layout.len(),
            "checkpoint has {n} states, expected {}",
            layout.len()
        );
        for (name, kind) in layout {
            let len = r.u16()? as usize;
            let mut stored = vec![0; len];
            r.take(&mut stored)?;
            let mut code = [0];
            r.take(&mut code)?;
            ensure!(
                stored == name.as_bytes() && code[0] == kind_code(*kind),
                "checkpoint state {:?} does not match state {name:?}",
                String::from_utf8_lossy(&stored)
            );
        }
        Ok(r)
    }

    fn take(&mut self, buf: &mut [u8]) -> Result<()> {
        self.input
            .read_exact(buf)
            .context("checkpoint stream is truncated")?;
        self.crc.update(buf);
        Ok(())
    }

    fn u16(&mut self) -> Result<u16> {
        let mut b = [0; 2];
        self.take(&mut b)?;
        Ok(u16::from_be_bytes(b))
    }

    fn u32(&mut self) -> Result<u32> {
        let mut b = [0; 4];
        self.take(&mut b)?;
        Ok(u32::from_be_bytes(b))
    }

    fn field(&mut self, which: &str) -> Result<Vec<u8>> {
        let len = self.u32()?;
        ensure!(
            len <= MAX_FIELD_BYTES,
            "checkpoint stream: {which} of {len} bytes is corrupt"
        );
        let mut buf = std::mem::take(if which == "key" {
            &mut self.key
        } else {
            &mut self.value
        });
        buf.resize(len as usize, 0);
        self.take(&mut buf)?;
        Ok(buf)
    }

    /// The next entry, or None at the (verified) end of the stream.
    pub fn next_entry(&mut self) -> Result<Option<StreamEntry<'_>>> {
        loop {
            if self.done {
                return Ok(None);
            }
            if self.key_group.is_none() {
                let kg = self.u32()?;
                if kg == END_OF_STREAM {
                    return self.finish().map(|_| None);
                }
                self.key_group = Some(kg);
                self.state = None;
            }
            if self.state.is_none() {
                let s = self.u16()?;
                if s == END_OF_KEY_GROUP {
                    self.key_group = None;
                    continue;
                }
                ensure!(
                    (s as usize) < self.states,
                    "checkpoint stream: unknown state id {s}"
                );
                self.state = Some(s);
            }
            let mut tag = [0];
            self.take(&mut tag)?;
            match tag[0] {
                0 => {
                    self.state = None;
                    continue;
                }
                1 => {}
                t => bail!("checkpoint stream: corrupt entry tag {t}"),
            }
            self.key = self.field("key")?;
            self.value = self.field("value")?;
            self.entries += 1;
            return Ok(Some(StreamEntry {
                key_group: self.key_group.unwrap_or_default(),
                state: self.state.unwrap_or_default(),
                key: &self.key,
                value: &self.value,
            }));
        }
    }

    fn finish(&mut self) -> Result<()> {
        let mut count = [0; 8];
        self.take(&mut count)?;
        let expected = u64::from_be_bytes(count);
        ensure!(
            expected == self.entries,
            "checkpoint stream holds {} entries, its trailer says {expected}",
            self.entries
        );
        let computed = self.crc.clone().finalize();
        let mut stored = [0; 4];
        self.input
            .read_exact(&mut stored)
            .context("checkpoint stream is truncated")?;
        ensure!(
            u32::from_be_bytes(stored) == computed,
            "checkpoint stream checksum mismatch"
        );
        self.done = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> StreamLayout {
        vec![("a".into(), StateKind::Value), ("b".into(), StateKind::Map)]
    }

    fn sample() -> Vec<u8> {
        let mut buf = Vec::new();
        let mut w = StreamWriter::new(&mut buf, 128, &layout()).unwrap();
        w.entry(3, 0, b"k1", b"v1").unwrap();
        w.entry(3, 1, b"k2", b"").unwrap();
        w.entry(3, 1, b"k3", b"v3").unwrap();
        w.entry(7, 0, b"k4", b"v4").unwrap();
        w.finish().unwrap();
        buf
    }

    #[test]
    fn round_trip_keeps_order_and_content() {
        let buf = sample();
        let mut r = StreamReader::open(buf.as_slice(), 128, &layout()).unwrap();
        let mut seen = Vec::new();
        while let Some(e) = r.next_entry().unwrap() {
            seen.push((e.key_group, e.state, e.key.to_vec(), e.value.to_vec()));
        }
        assert_eq!(
            seen,
            vec![
                (3, 0, b"k1".to_vec(), b"v1".to_vec()),
                (3, 1, b"k2".to_vec(), b"".to_vec()),
                (3, 1, b"k3".to_vec(), b"v3".to_vec()),
                (7, 0, b"k4".to_vec(), b"v4".to_vec()),
            ]
        );
    }

    #[test]
    fn corruption_and_truncation_are_errors() {
        let buf = sample();
        for cut in [3, 20, buf.len() - 1] {
            let mut r = match StreamReader::open(&buf[..cut], 128, &layout()) {
                Ok(r) => r,
                Err(_) => continue,
            };
            let mut failed = false;
            loop {
                match r.next_entry() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            }
            assert!(failed, "truncated at {cut} was accepted");
        }
        let mut flipped = buf.clone();
        let i = flipped.len() - 10;
        flipped[i] ^= 0x40;
        let mut r = StreamReader::open(flipped.as_slice(), 128, &layout()).unwrap();
        let result = (|| {
            while r.next_entry()?.is_some() {}
            Ok::<_, anyhow::Error>(())
        })();
        assert!(result.is_err());
        assert!(StreamReader::open(buf.as_slice(), 256, &layout()).is_err());
    }

    #[test]
    fn out_of_order_entries_are_refused() {
        let mut buf = Vec::new();
        let mut w = StreamWriter::new(&mut buf, 128, &layout()).unwrap();
        w.entry(5, 0, b"k", b"v").unwrap();
        assert!(w.entry(4, 0, b"k", b"v").is_err());
    }
}
