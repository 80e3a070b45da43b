//! Request bodies and query strings that more than one route takes, and the documented
//! shape of a photo upload.

use crate::domain::purpose::Purpose;
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhotoChoice {
    /// The photo the registry holds (已留存照片).
    OnFile,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    pub photo: PhotoChoice,
}

/// `?purpose=`: what a display code is for; roadside when absent.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PurposeQuery {
    /// roadside (police: the whole licence, the default), or rental, insurance, employment
    /// (partners: name, classes, validity, verdict and expiry only).
    pub purpose: Option<Purpose>,
}

impl PurposeQuery {
    pub fn purpose(&self) -> Purpose {
        self.purpose.unwrap_or_default()
    }
}

/// The multipart form of an upload, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PhotoUpload)]
#[allow(dead_code)]
pub struct PhotoUploadDoc {
    source: crate::domain::submission::PhotoSource,
    /// The JPEG or PNG, at most 5 MB.
    #[schema(format = Binary, value_type = String)]
    photo: Vec<u8>,
}
