//! XML request bodies parsed into every request struct
//! (CompleteMultipartUpload, Delete, CreateBucketConfiguration, CORS, Tagging).
#![no_main]

#[path = "../../s3/tests/reliability_checks/mod.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    checks::check_xml(data);
    checks::check_config_xml(data);
});
