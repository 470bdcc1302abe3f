//! Throws many random and mutated strings at every parser: each must return
//! `Ok` or `Err`, never panic, and any `Ok` must be a valid genotype.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use edas_genotype::{Format, dot, parse_any, published};
use proptest::prelude::*;

const ALPHABET: &[u8] =
    b"Genotype(normal=[('sep_conv_3x3', 0)],_concat range 2345)\"\n #{}->;/\\*abcxyz9\xc3\xa9";

fn check_all_parsers(text: &str) {
    for format in Format::ALL {
        if let Ok(g) = format.parse(text) {
            // Whatever parses must survive a round trip.
            assert_eq!(format.parse(&format.write(&g)).unwrap(), g);
        }
    }
    let _ = parse_any(text);
    let _ = dot::parse_dot_cell(text);
}

/// One random edit of `text`: delete, insert, replace or duplicate a span.
fn mutate(text: &[u8], ops: &[(u8, usize, usize, u8)]) -> Vec<u8> {
    let mut t = text.to_vec();
    for &(kind, a, b, byte) in ops {
        if t.is_empty() {
            t.push(byte);
            continue;
        }
        let i = a % t.len();
        let j = (i + b % 16).min(t.len());
        match kind % 5 {
            0 => {
                t.drain(i..j);
            }
            1 => t.insert(i, ALPHABET[byte as usize % ALPHABET.len()]),
            2 => t[i] = ALPHABET[byte as usize % ALPHABET.len()],
            3 => {
                let span = t[i..j].to_vec();
                t.splice(i..i, span);
            }
            _ => t.truncate(i),
        }
    }
    t
}

fn seeds() -> Vec<String> {
    let g = published::PDARTS;
    let mut seeds: Vec<String> = Format::ALL.iter().map(|f| f.write(&g)).collect();
    seeds.extend(published::ALL.iter().map(|p| p.text.to_owned()));
    seeds
}

proptest! {
    // 3000 cases, or `PROPTEST_CASES` (which `with_cases` alone would ignore).
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(3000)
    ))]

    #[test]
    fn random_strings_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        check_all_parsers(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_alphabet_strings_never_panic(idx in proptest::collection::vec(0usize..ALPHABET.len(), 0..300)) {
        let bytes: Vec<u8> = idx.iter().map(|&i| ALPHABET[i]).collect();
        check_all_parsers(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_valid_texts_never_panic(
        seed in 0usize..8,
        ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>(), any::<u8>()), 1..6),
    ) {
        let seeds = seeds();
        let text = mutate(seeds[seed % seeds.len()].as_bytes(), &ops);
        check_all_parsers(&String::from_utf8_lossy(&text));
    }
}

#[test]
fn every_prefix_of_every_format_is_handled() {
    for seed in seeds() {
        for end in (0..=seed.len()).filter(|&e| seed.is_char_boundary(e)) {
            check_all_parsers(&seed[..end]);
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("Genotype(normal={}", "[".repeat(100_000));
    assert!(Format::Darts.parse(&deep).is_err());
    let deep = format!("{{\"normal\": {}", "[".repeat(100_000));
    assert!(Format::Json.parse(&deep).is_err());
    let deep = format!("normal = {}", "[".repeat(100_000));
    assert!(Format::Toml.parse(&deep).is_err());
}
