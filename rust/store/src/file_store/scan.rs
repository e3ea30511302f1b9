//! Loading a bucket from disk: walks the bucket directory to build the object
//! index and reads its uploads, removing what a crash can leave behind (data
//! files no metadata names, part files no part document names, uploads whose
//! `upload.json` is gone). Files the store does not recognise are left alone.

use super::fsutil::{io_err, read_optional, remove_files, remove_tree};
use super::keys::decode_key;
use super::layout::{self, ObjectFile, PartFile, UPLOAD_FILE};
use super::multipart::Upload;
use super::metafile;
use super::records::{ObjectRecord, PartDoc, PartRecord, UploadDoc, from_json};
use crate::{StoreError, StoreResult};
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The most parts an object or upload can have (S3's limit).
const MAX_PARTS: usize = 10_000;

/// What a bucket holds on disk.
pub(crate) struct Loaded {
    /// Current version of every key.
    pub objects: BTreeMap<String, Arc<ObjectRecord>>,
    /// Uploads in progress.
    pub uploads: Vec<Upload>,
}

/// Loads the index of `bucket_dir` and the uploads in `uploads_dir`.
pub(crate) fn load_bucket(bucket_dir: &Path, uploads_dir: &Path) -> StoreResult<Loaded> {
    let started = std::time::Instant::now();
    let objects = scan_objects(bucket_dir)?;
    let uploads = scan_uploads(uploads_dir)?;
    tracing::debug!(bucket = %bucket_dir.display(), objects = objects.len(), uploads = uploads.len(), elapsed = ?started.elapsed(), "bucket loaded");
    Ok(Loaded { objects, uploads })
}

fn scan_objects(bucket_dir: &Path) -> StoreResult<BTreeMap<String, Arc<ObjectRecord>>> {
    let mut objects = BTreeMap::new();
    let mut stack: Vec<(PathBuf, Vec<String>)> = vec![(bucket_dir.to_path_buf(), Vec::new())];
    while let Some((dir, components)) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound && dir != bucket_dir => continue,
            Err(e) => return Err(StoreError::io(format!("listing {}", dir.display()), e)),
        };
        let mut metas = Vec::new();
        let mut data = HashSet::new();
        let mut others = 0usize;
        for entry in entries {
            let entry = entry.map_err(io_err("listing", &dir))?;
            let file_type = entry.file_type().map_err(io_err("inspecting", &entry.path()))?;
            let Ok(name) = entry.file_name().into_string() else {
                others += 1;
                continue;
            };
            if file_type.is_dir() && !name.starts_with('.') {
                let mut child = components.clone();
                child.push(name);
                stack.push((entry.path(), child));
                others += 1;
            } else if file_type.is_file() {
                match layout::parse_object_file(&name) {
                    Some(ObjectFile::Meta { base }) => metas.push(base.to_string()),
                    Some(ObjectFile::Data { .. }) => {
                        data.insert(name);
                    }
                    None => others += 1,
                }
            } else {
                others += 1;
            }
        }
        let mut keep = HashSet::new();
        let mut unsure = HashSet::new();
        for base in &metas {
            match load_object(&dir, &components, base, &data) {
                Ok(Some((key, record, files))) => {
                    keep.extend(files);
                    objects.insert(key, Arc::new(record));
                }
                Ok(None) => {
                    unsure.insert(base.as_str());
                }
                Err(e) => {
                    tracing::warn!(error = %e, "skipping unreadable object");
                    unsure.insert(base.as_str());
                }
            }
        }
        let orphans: Vec<PathBuf> = data
            .iter()
            .filter(|name| !keep.contains(*name))
            .filter(|name| match layout::parse_object_file(name) {
                Some(ObjectFile::Data { base, .. }) => !unsure.contains(base),
                _ => false,
            })
            .map(|name| dir.join(name))
            .collect();
        if !orphans.is_empty() {
            tracing::info!(dir = %dir.display(), count = orphans.len(), "removing data files left by an interrupted write");
            remove_files(&orphans);
            if metas.is_empty() && others == 0 && data.len() == orphans.len() && dir != bucket_dir {
                let _ = fs::remove_dir(&dir);
            }
        }
    }
    Ok(objects)
}

/// Reads `<dir>/<base>.s3meta`; `Ok(None)` when the path is not the canonical
/// place of its key (a foreign file). Returns the key, the record and its data file names.
fn load_object(dir: &Path, components: &[String], base: &str, data: &HashSet<String>) -> StoreResult<Option<(String, ObjectRecord, Vec<String>)>> {
    let Some(key) = decode_key(components, base) else { return Ok(None) };
    let path = dir.join(layout::meta_name(base));
    let corrupt = |reason: String| StoreError::Corrupt { path: path.display().to_string(), reason };
    let Some(doc) = metafile::read_doc(&path)? else { return Ok(None) };
    if doc.key != key {
        return Err(corrupt(format!("names key {:?} but is stored at the place of {key:?}", doc.key)));
    }
    if !layout::is_version(&doc.version) {
        return Err(corrupt(format!("invalid version {:?}", doc.version)));
    }
    let files: Vec<String> = match &doc.parts {
        None if doc.inline => Vec::new(),
        None => vec![layout::data_name(base, &doc.version, None)],
        Some(parts) => {
            if parts.len() > MAX_PARTS || parts.iter().map(|p| p.size).sum::<u64>() != doc.size {
                return Err(corrupt("part sizes do not add up to the object size".into()));
            }
            (1..=parts.len()).map(|i| layout::data_name(base, &doc.version, Some(i))).collect()
        }
    };
    if let Some(missing) = files.iter().find(|f| !data.contains(*f)) {
        return Err(corrupt(format!("data file {missing} is missing")));
    }
    Ok(Some((key, ObjectRecord::from_doc(doc), files)))
}

fn scan_uploads(uploads_dir: &Path) -> StoreResult<Vec<Upload>> {
    let entries = match fs::read_dir(uploads_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(format!("listing {}", uploads_dir.display()), e)),
    };
    let mut uploads = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err("listing", uploads_dir))?;
        let Ok(id) = entry.file_name().into_string() else { continue };
        if !layout::is_version(&id) || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        match load_upload(&entry.path(), &id) {
            Ok(Some(upload)) => uploads.push(upload),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "skipping unreadable upload"),
        }
    }
    Ok(uploads)
}

fn load_upload(dir: &Path, id: &str) -> StoreResult<Option<Upload>> {
    let doc_path = dir.join(UPLOAD_FILE);
    let Some(bytes) = read_optional(&doc_path)? else {
        // Completed or aborted: upload.json goes first, the rest may have stayed.
        remove_tree(dir).map_err(io_err("removing", dir))?;
        return Ok(None);
    };
    let doc: UploadDoc = from_json(&doc_path, &bytes)?;
    if doc.upload_id != id || crate::names::validate_key(&doc.key).is_err() {
        return Err(StoreError::Corrupt { path: doc_path.display().to_string(), reason: "upload id or key is invalid".into() });
    }
    let mut metas = Vec::new();
    let mut data = HashSet::new();
    for entry in fs::read_dir(dir).map_err(io_err("listing", dir))? {
        let entry = entry.map_err(io_err("listing", dir))?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        match layout::parse_part_file(&name) {
            Some(PartFile::Meta(n)) => metas.push(n),
            Some(PartFile::Data(..)) => {
                data.insert(name);
            }
            None => {}
        }
    }
    let mut parts = BTreeMap::new();
    let mut keep = HashSet::new();
    for number in metas {
        let path = dir.join(layout::part_meta_name(number));
        let part = read_optional(&path)?.map(|b| from_json::<PartDoc>(&path, &b)).transpose();
        match part {
            Ok(Some(doc))
                if doc.part_number == number
                    && layout::is_version(&doc.version)
                    && data.contains(&layout::part_data_name(number, &doc.version)) =>
            {
                keep.insert(layout::part_data_name(number, &doc.version));
                parts.insert(number, PartRecord::from_doc(doc));
            }
            _ => {
                tracing::warn!(path = %path.display(), "removing a part document without valid data");
                remove_files(&[path]);
            }
        }
    }
    let orphans: Vec<PathBuf> = data.iter().filter(|n| !keep.contains(*n)).map(|n| dir.join(n)).collect();
    remove_files(&orphans);
    Ok(Some(Upload::new(doc.into_info(), dir.to_path_buf(), parts)))
}
