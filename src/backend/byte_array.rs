//! Flink's `BytePrimitiveArraySerializer`, the value serializer both backends write: an int
//! length, then the bytes.

/// Serializes a value as Flink's `BytePrimitiveArraySerializer` does: int length, then bytes.
pub(super) fn write_byte_array(out: &mut Vec<u8>, value: &[u8]) {
    out.extend_from_slice(&(value.len() as u32).to_be_bytes());
    out.extend_from_slice(value);
}

/// Reads one `BytePrimitiveArraySerializer` value from the front of `input`, returning it and
/// the rest; None if `input` is too short.
pub(super) fn read_byte_array(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_be_bytes(input.get(..4)?.try_into().ok()?) as usize;
    let body = input.get(4..4 + len)?;
    Some((body, &input[4 + len..]))
}
