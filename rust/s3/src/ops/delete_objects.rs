//! DeleteObjects: `POST /bucket?delete` with up to 1000 keys.

use crate::body::RequestBody;
use crate::dispatch::Ctx;
use crate::error::{S3Error, S3Result};
use crate::ops::upload::receive_document;
use crate::response::{S3Response, xml};
use crate::xml::object::{Delete, DeleteError, DeleteResult, Deleted};
use crate::xml::{S3_XMLNS, from_xml, to_xml};
use smartstorage_store::{StoreError, WriteCondition, names};

/// S3's limit on keys per DeleteObjects request.
const MAX_KEYS_PER_DELETE: usize = 1000;

/// Deletes each listed key, reporting per-key errors; quiet mode reports only errors.
pub async fn handle_delete_objects(ctx: &Ctx, body: RequestBody) -> S3Result<S3Response> {
    ctx.store().head_bucket(ctx.bucket()).await?;
    let doc = receive_document(ctx, body).await?;
    let request: Delete = from_xml(&doc)?;
    if request.objects.is_empty() || request.objects.len() > MAX_KEYS_PER_DELETE {
        return Err(S3Error::malformed_xml(format!(
            "The XML you provided was not well-formed or did not validate against our published schema: a Delete must list 1 to {MAX_KEYS_PER_DELETE} objects, got {}",
            request.objects.len()
        )));
    }
    let quiet = request.quiet.unwrap_or(false);
    let mut result = DeleteResult { xmlns: S3_XMLNS, deleted: Vec::new(), errors: Vec::new() };
    for entry in request.objects {
        let outcome = delete_one(ctx, &entry.key, entry.version_id.as_deref(), entry.etag.as_deref()).await;
        match outcome {
            Ok(()) => {
                if !quiet {
                    result.deleted.push(Deleted { key: entry.key, version_id: entry.version_id });
                }
            }
            Err(err) => result.errors.push(DeleteError {
                key: entry.key,
                version_id: entry.version_id,
                code: err.code.to_string(),
                message: err.message,
            }),
        }
    }
    Ok(xml(to_xml("DeleteResult", &result)?))
}

async fn delete_one(ctx: &Ctx, key: &str, version_id: Option<&str>, etag: Option<&str>) -> S3Result<()> {
    names::validate_key(key)?;
    if let Some(v) = version_id.filter(|v| *v != "null") {
        return Err(S3Error::new("NoSuchVersion", http::StatusCode::NOT_FOUND, format!("The specified version {v:?} does not exist")));
    }
    let condition = match etag {
        Some(e) => WriteCondition::IfMatch(e.trim_matches('"').to_string()),
        None => WriteCondition::None,
    };
    match ctx.store().delete_object(ctx.bucket(), key, &condition).await {
        Ok(_) => Ok(()),
        Err(StoreError::NoSuchKey(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
