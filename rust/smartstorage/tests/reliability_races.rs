//! Operations racing on the same resource, against the real binary, each
//! repeated many times: the outcome is always one of the serial outcomes and
//! nothing is left behind on disk.
//!
//! - CompleteMultipartUpload twice at once, and Complete against Abort;
//! - UploadPart replacing a part while the upload completes;
//! - DeleteBucket against PutObject / CreateMultipartUpload in that bucket;
//! - CopyObject while its source is overwritten;
//! - conditional creates (`If-None-Match: *`): exactly one wins.
//!
//! `SMARTSTORAGE_RACE_ROUNDS` (default 30) sets the repetitions.

mod reliability_common;

use reliability_common::*;
use std::sync::Barrier;

fn rounds() -> u64 {
    knob("SMARTSTORAGE_RACE_ROUNDS", 30)
}

/// Runs `a` and `b` at (nearly) the same instant on two threads.
fn race<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        let ha = s.spawn(|| {
            barrier.wait();
            a()
        });
        let hb = s.spawn(|| {
            barrier.wait();
            b()
        });
        (ha.join().unwrap(), hb.join().unwrap())
    })
}

fn create_upload(c: &mut Client, path: &str) -> String {
    let r = c
        .request("POST", &format!("{path}?uploads"), &[], b"")
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    r.xml_field("UploadId").unwrap()
}

fn upload_part(c: &mut Client, path: &str, id: &str, n: u32, body: &[u8]) -> String {
    let r = c
        .put(&format!("{path}?partNumber={n}&uploadId={id}"), body)
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    r.header("etag").unwrap().to_string()
}

fn complete_xml(parts: &[(u32, String)]) -> String {
    let mut xml = String::from("<CompleteMultipartUpload>");
    for (n, etag) in parts {
        xml.push_str(&format!(
            "<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
        ));
    }
    xml + "</CompleteMultipartUpload>"
}

fn assert_clean(root: &std::path::Path, what: &str) {
    let report = check_dir(root);
    assert!(report.is_clean(), "{what}: leftovers {report:#?}");
}

#[test]
fn racing_completes_and_aborts_of_one_upload_give_a_serial_outcome() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let server = Server::start(&root, &["--no-fsync"]);
    let mut c = server.client();
    ensure_bucket(&mut c, "races");
    let (mut both_ok, mut one_ok) = (0, 0);
    for round in 0..rounds() {
        let path = format!("/races/mp{round}");
        let body = content(&format!("mp{round}"), 1000 + round as usize);
        let id = create_upload(&mut c, &path);
        let etag = upload_part(&mut c, &path, &id, 1, &body);
        let xml = complete_xml(&[(1, etag)]);
        let done = format!("{path}?uploadId={id}");
        let abort_instead = round % 2 == 1;
        let (complete, other) = race(
            || {
                server
                    .client()
                    .request("POST", &done, &[], xml.as_bytes())
                    .unwrap()
            },
            || {
                if abort_instead {
                    server.client().request("DELETE", &done, &[], b"").unwrap()
                } else {
                    server
                        .client()
                        .request("POST", &done, &[], xml.as_bytes())
                        .unwrap()
                }
            },
        );
        let ok = |r: &Resp| r.status < 300 && !r.text().contains("<Error>");
        for r in [&complete, &other] {
            assert!(
                ok(r) || r.text().contains("NoSuchUpload"),
                "round {round}: unexpected {} {}",
                r.status,
                r.text()
            );
        }
        let completed = ok(&complete) || (!abort_instead && ok(&other));
        let aborted = abort_instead && ok(&other);
        assert!(
            completed || aborted,
            "round {round}: neither request succeeded"
        );
        assert!(
            !(completed && aborted),
            "round {round}: both the complete and the abort were acknowledged"
        );
        let got = c.get(&path).unwrap();
        if completed {
            assert_eq!(
                (got.status, md5_hex(&got.body)),
                (200, md5_hex(&body)),
                "round {round}: completed object"
            );
        } else {
            assert_eq!(
                got.status, 404,
                "round {round}: aborted upload left an object"
            );
        }
        if ok(&complete) && ok(&other) {
            both_ok += 1;
        } else {
            one_ok += 1;
        }
        // The upload is gone either way.
        let r = c.get(&format!("{path}?uploadId={id}")).unwrap();
        assert_eq!(
            r.status,
            404,
            "round {round}: upload still listed after complete/abort: {}",
            r.text()
        );
        assert_clean(&root, &format!("round {round}"));
    }
    eprintln!(
        "[races] complete×complete / complete×abort: {both_ok} rounds both succeeded, {one_ok} one of them"
    );
    server.assert_no_panic();
}

#[test]
fn a_part_replaced_while_the_upload_completes_never_mixes_contents() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let server = Server::start(&root, &["--no-fsync"]);
    let mut c = server.client();
    ensure_bucket(&mut c, "races");
    for round in 0..rounds() {
        let path = "/races/replaced";
        let old = content(&format!("old{round}"), 50_000);
        let new = content(&format!("new{round}"), 60_000);
        let id = create_upload(&mut c, path);
        let etag = upload_part(&mut c, path, &id, 1, &old);
        let xml = complete_xml(&[(1, etag)]);
        let (done, replaced) = race(
            || {
                server
                    .client()
                    .request(
                        "POST",
                        &format!("{path}?uploadId={id}"),
                        &[],
                        xml.as_bytes(),
                    )
                    .unwrap()
            },
            || {
                server
                    .client()
                    .put(&format!("{path}?partNumber=1&uploadId={id}"), &new)
                    .unwrap()
            },
        );
        let got = c.get(path).unwrap();
        if done.status == 200 && !done.text().contains("<Error>") {
            // Completed with the etag of the old part: the object must be the old bytes, whole.
            assert_eq!(
                md5_hex(&got.body),
                md5_hex(&old),
                "round {round}: completed object is not the listed part"
            );
        } else {
            assert!(
                done.text().contains("InvalidPart") || done.text().contains("NoSuchUpload"),
                "round {round}: {}",
                done.text()
            );
        }
        assert!(
            replaced.status == 200 || replaced.text().contains("NoSuchUpload"),
            "round {round}: {}",
            replaced.text()
        );
        // Clean up whatever is left of the upload.
        let _ = c.request("DELETE", &format!("{path}?uploadId={id}"), &[], b"");
        assert_clean(&root, &format!("round {round}"));
    }
    server.assert_no_panic();
}

#[test]
fn delete_bucket_racing_writes_into_it_leaves_no_orphans() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let server = Server::start(&root, &["--no-fsync"]);
    let mut c = server.client();
    let (mut deleted, mut kept) = (0, 0);
    for round in 0..rounds() {
        ensure_bucket(&mut c, "racebucket");
        let multipart = round % 3 == 2;
        let (del, put) = race(
            || {
                server
                    .client()
                    .request("DELETE", "/racebucket", &[], b"")
                    .unwrap()
            },
            || {
                if multipart {
                    server
                        .client()
                        .request("POST", "/racebucket/k?uploads", &[], b"")
                        .unwrap()
                } else {
                    server
                        .client()
                        .put("/racebucket/k", &content("k", 200_000))
                        .unwrap()
                }
            },
        );
        let put_ok = put.status == 200;
        if del.status == 204 {
            deleted += 1;
            // The bucket is gone: nothing of the write may survive, and it must
            // not be able to resurrect the bucket.
            let r = c.request("HEAD", "/racebucket", &[], b"").unwrap();
            if put_ok {
                // The write was acknowledged before the delete: then the delete must have failed.
                assert_eq!(
                    r.status, 200,
                    "round {round}: PUT acknowledged and DeleteBucket acknowledged — the object was lost"
                );
            } else {
                assert_eq!(
                    r.status, 404,
                    "round {round}: bucket deleted but still there"
                );
                assert!(
                    put.text().contains("NoSuchBucket"),
                    "round {round}: write into a deleted bucket: {} {}\nserver log:\n{}",
                    put.status,
                    put.text(),
                    server.log_tail(5)
                );
            }
        } else {
            kept += 1;
            assert!(
                del.text().contains("BucketNotEmpty"),
                "round {round}: DeleteBucket {} {}",
                del.status,
                del.text()
            );
            assert!(
                put_ok,
                "round {round}: DeleteBucket refused but the write failed: {}",
                put.text()
            );
        }
        // Empty the bucket (object or upload) and delete it for the next round.
        if c.request("HEAD", "/racebucket", &[], b"").unwrap().status == 200 {
            let _ = c.request("DELETE", "/racebucket/k", &[], b"");
            let uploads = c.get("/racebucket?uploads").unwrap().text();
            for id in xml_fields(&uploads, "UploadId") {
                let _ = c.request("DELETE", &format!("/racebucket/k?uploadId={id}"), &[], b"");
            }
            let r = c.request("DELETE", "/racebucket", &[], b"").unwrap();
            assert_eq!(
                r.status,
                204,
                "round {round}: cannot delete the emptied bucket: {}",
                r.text()
            );
        }
        assert_clean(&root, &format!("round {round}"));
        // Files only: an empty `.smartstorage/multipart/racebucket` directory
        // recreated by a CreateMultipartUpload that lost the race is harmless.
        let leftovers: Vec<_> = walk(&root)
            .into_iter()
            .filter(|(p, is_dir)| {
                p.to_string_lossy().contains("racebucket")
                    && (!is_dir || !p.ends_with(".smartstorage/multipart/racebucket"))
            })
            .collect();
        assert!(
            leftovers.is_empty(),
            "round {round}: files of the deleted bucket remain: {leftovers:?}"
        );
    }
    eprintln!("[races] DeleteBucket × write: {deleted} deletes won, {kept} writes won");
    server.assert_no_panic();
}

#[test]
fn copy_racing_an_overwrite_of_its_source_copies_one_whole_version() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let server = Server::start(&root, &["--no-fsync"]);
    let mut c = server.client();
    ensure_bucket(&mut c, "races");
    for round in 0..rounds() {
        let v1 = content(&format!("v1-{round}"), 2 << 20);
        let v2 = content(&format!("v2-{round}"), 1 << 20);
        assert_eq!(c.put("/races/src", &v1).unwrap().status, 200);
        let (copy, put) = race(
            || {
                server
                    .client()
                    .request(
                        "PUT",
                        "/races/dst",
                        &[("x-amz-copy-source", "/races/src")],
                        b"",
                    )
                    .unwrap()
            },
            || server.client().put("/races/src", &v2).unwrap(),
        );
        assert_eq!(copy.status, 200, "{}", copy.text());
        assert_eq!(put.status, 200, "{}", put.text());
        let got = md5_hex(&c.get("/races/dst").unwrap().body);
        assert!(
            got == md5_hex(&v1) || got == md5_hex(&v2),
            "round {round}: the copy is neither version"
        );
        let etag = copy
            .xml_field("ETag")
            .map(|e| xml_unescape(&e).trim_matches('"').to_string());
        assert_eq!(
            etag.as_deref(),
            Some(got.as_str()),
            "round {round}: copy result ETag does not match the copied bytes"
        );
    }
    assert_clean(&root, "after copies");
    server.assert_no_panic();
}

#[test]
fn racing_conditional_creates_have_exactly_one_winner() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let server = Server::start(&root, &["--no-fsync"]);
    let mut c = server.client();
    ensure_bucket(&mut c, "races");
    for round in 0..rounds() {
        let path = format!("/races/once{round}");
        let (a, b) = race(
            || {
                server
                    .client()
                    .request("PUT", &path, &[("if-none-match", "*")], b"from a")
                    .unwrap()
            },
            || {
                server
                    .client()
                    .request("PUT", &path, &[("if-none-match", "*")], b"from b")
                    .unwrap()
            },
        );
        let winners = [&a, &b].iter().filter(|r| r.status == 200).count();
        assert_eq!(winners, 1, "round {round}: {} and {}", a.status, b.status);
        let loser = if a.status == 200 { &b } else { &a };
        assert!(
            loser.status == 412 || loser.status == 409,
            "round {round}: loser got {} {}",
            loser.status,
            loser.text()
        );
        let got = c.get(&path).unwrap().body;
        let want: &[u8] = if a.status == 200 {
            b"from a"
        } else {
            b"from b"
        };
        assert_eq!(
            got, want,
            "round {round}: the winner's bytes are not the ones stored"
        );
    }
    assert_clean(&root, "after conditional creates");
    server.assert_no_panic();
}
