//! Property tests of the streaming multipart/form-data parser: any split of
//! a valid body yields the same parts and bytes, and any input whatsoever
//! yields events or an error, never a panic.

use bytes::Bytes;
use proptest::prelude::*;
use smartstorage_s3::form::{FormError, FormEvent, FormParser};

/// Parses `body` pushed at the given cut points; Data events coalesced per part.
fn parse(boundary: &str, body: &[u8], cuts: &[usize]) -> Result<Vec<FormEvent>, FormError> {
    let mut parser = FormParser::new(boundary)?;
    let mut events: Vec<FormEvent> = Vec::new();
    let collect = |parser: &mut FormParser, events: &mut Vec<FormEvent>| -> Result<(), FormError> {
        while let Some(e) = parser.next_event()? {
            match (events.last_mut(), e) {
                (Some(FormEvent::Data(prev)), FormEvent::Data(d)) => {
                    let mut joined = prev.to_vec();
                    joined.extend_from_slice(&d);
                    *prev = Bytes::from(joined);
                }
                (_, e) => events.push(e),
            }
        }
        Ok(())
    };
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
    points.sort_unstable();
    let mut last = 0;
    for p in points.into_iter().chain([body.len()]) {
        parser.push(&body[last..p]);
        last = p;
        collect(&mut parser, &mut events)?;
    }
    parser.finish();
    collect(&mut parser, &mut events)?;
    Ok(events)
}

fn build(boundary: &str, parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut body = b"ignored preamble".to_vec();
    for (name, value) in parts {
        body.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes());
        body.extend_from_slice(value);
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\nepilogue").as_bytes());
    body
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn value_strategy() -> impl Strategy<Value = Vec<u8>> {
    // Bytes biased towards the characters a delimiter is made of.
    prop::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'-'), Just(b'b'), any::<u8>()], 0..200)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_split_of_a_valid_body_gives_the_parts(
        parts in prop::collection::vec(("[a-z][a-z0-9-]{0,10}", value_strategy()), 1..5),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
        boundary in "[A-Za-z0-9'()+_,./:=?-]{1,20}b",
    ) {
        let delimiter = format!("\r\n--{boundary}");
        prop_assume!(parts.iter().all(|(_, v)| !contains(v, delimiter.as_bytes())));
        // A value ending in a prefix of the delimiter is fine; one whose end plus
        // the delimiter forms an earlier delimiter is excluded by the check above
        // only partly, so check the assembled body has exactly the delimiters we put.
        let body = build(&boundary, &parts);
        let count = body.windows(delimiter.len()).filter(|w| *w == delimiter.as_bytes()).count();
        prop_assume!(count == parts.len() + 1);
        let events = parse(&boundary, &body, &cuts).expect("valid body");
        let mut want = Vec::new();
        for (name, value) in &parts {
            want.push(FormEvent::Part(smartstorage_s3::form::PartHeaders { name: name.clone(), filename: None, content_type: None }));
            if !value.is_empty() {
                want.push(FormEvent::Data(Bytes::from(value.clone())));
            }
            want.push(FormEvent::PartEnd);
        }
        want.push(FormEvent::End);
        prop_assert_eq!(events, want);
    }

    #[test]
    fn garbage_never_panics(body in prop::collection::vec(any::<u8>(), 0..600), cuts in prop::collection::vec(any::<usize>(), 0..8)) {
        let _ = parse("b", &body, &cuts);
    }

    #[test]
    fn garbage_around_real_boundaries_never_panics(
        pieces in prop::collection::vec(prop_oneof![
            Just(b"\r\n--xyz".to_vec()),
            Just(b"\r\n--xyz--".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"Content-Disposition: form-data; name=\"a\"; filename=\"f\\\"".to_vec()),
            Just(b"filename*=UTF-8''%FF%FE".to_vec()),
            prop::collection::vec(any::<u8>(), 0..40),
        ], 0..30),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let body: Vec<u8> = pieces.concat();
        let _ = parse("xyz", &body, &cuts);
    }

    #[test]
    fn boundaries_are_validated_not_trusted(boundary in ".{0,80}") {
        let _ = FormParser::new(&boundary).map(|mut p| {
            p.push(b"--");
            p.push(boundary.as_bytes());
            p.finish();
            while let Ok(Some(_)) = p.next_event() {}
        });
    }
}
