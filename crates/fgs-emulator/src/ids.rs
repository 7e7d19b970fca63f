//! Ids, tokens and keys, drawn from the operating system's random number generator so
//! that none can be predicted from another.

/// 128 bits from the operating system's random number generator. Ids, tokens and keys
/// are drawn from it, so that none can be predicted from another.
fn next_bits() -> (u64, u64) {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // The OS generator does not fail on the platforms the emulator runs on; should it,
        // fall back to fastrand rather than stop answering.
        bytes = fastrand::u128(..).to_le_bytes();
    }
    let (high, low) = bytes.split_at(8);
    let word = |part: &[u8]| part.iter().fold(0u64, |acc, byte| acc << 8 | u64::from(*byte));
    (word(high), word(low))
}

/// A FunctionGraph-style request id: `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`
/// in lowercase hexadecimal.
pub(crate) fn uuid_like() -> String {
    let (high, low) = next_bits();
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xFFFF,
        high & 0xFFFF,
        low >> 48,
        low & 0xFFFF_FFFF_FFFF
    )
}

/// An API-gateway-style request id: 32 lowercase hexadecimal digits.
pub(crate) fn hex32() -> String {
    let (high, low) = next_bits();
    format!("{high:016x}{low:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            let id = uuid_like();
            let lengths: Vec<usize> = id.split('-').map(str::len).collect();
            assert_eq!(lengths, [8, 4, 4, 4, 12], "{id}");
            assert!(
                id.chars()
                    .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
            assert!(seen.insert(id));
            let hex = hex32();
            assert_eq!(hex.len(), 32);
            assert!(hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
            assert!(seen.insert(hex));
        }
    }
}
