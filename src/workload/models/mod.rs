//! Operator models.

pub(crate) mod dedup;
pub(crate) mod join;
pub(crate) mod keyed;
pub(crate) mod session;
pub(crate) mod window;
pub(crate) mod ycsb;
