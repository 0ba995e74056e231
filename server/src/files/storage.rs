//! Where files' bytes are kept: a directory beside the database (one machine), or an
//! S3-compatible object store that every node reaches (several). Each file has a folder
//! of its own named by its id: the upload as it came (`original`), and for a picture
//! its two re-encoded sizes (`small.webp`, `large.webp`), the only forms of a picture
//! ever served.

use crate::error::StartError;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{Attribute, Attributes, ObjectStore, ObjectStoreExt, PutMultipartOptions, WriteMultipart};
use std::sync::Arc;
use std::time::Duration;

/// The forms a file is kept in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Original,
    Small,
    Large,
}

impl Form {
    fn key(self, id: &str) -> Path {
        let leaf = match self {
            Form::Original => "original",
            Form::Small => "small.webp",
            Form::Large => "large.webp",
        };
        Path::from(format!("{id}/{leaf}"))
    }
}

/// How long a signed link to a file in the object store works.
pub const SIGNED_FOR: Duration = Duration::from_secs(300);

/// An S3-compatible store: `PALAVER_S3_URL` (`http(s)://host:port/bucket`) and its keys.
#[derive(Debug, Clone)]
pub struct S3Settings {
    pub url: String,
    pub key_id: String,
    pub secret: String,
    pub region: String,
}

/// The file storage, and (for S3) what signs short-lived links to it.
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    signer: Option<Arc<AmazonS3>>,
    /// Where it is, for the log (no credentials).
    pub place: String,
}

/// A file's bytes as they are read, and how many there are.
pub struct Reading {
    pub size: u64,
    pub bytes: BoxStream<'static, Result<Bytes, object_store::Error>>,
}

impl Storage {
    /// A directory (created if need be).
    pub fn dir(dir: &std::path::Path) -> Result<Storage, StartError> {
        std::fs::create_dir_all(dir).map_err(|e| StartError::Config(format!("file storage {}: {e}", dir.display())))?;
        let store = LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| StartError::Config(format!("file storage {}: {e}", dir.display())))?;
        Ok(Storage { store: Arc::new(store), signer: None, place: dir.display().to_string() })
    }

    /// An S3-compatible object store's bucket.
    pub fn s3(s3: &S3Settings) -> Result<Storage, StartError> {
        let bad = |why: String| StartError::Config(format!("PALAVER_S3_URL: {why}"));
        let url = url::Url::parse(&s3.url).map_err(|e| bad(e.to_string()))?;
        let bucket = url.path().trim_matches('/');
        if bucket.is_empty() || bucket.contains('/') || !matches!(url.scheme(), "http" | "https") {
            return Err(bad("give it as http(s)://host[:port]/bucket".into()));
        }
        let endpoint = format!("{}://{}", url.scheme(), &url[url::Position::BeforeHost..url::Position::AfterPort]);
        let store = AmazonS3Builder::new()
            .with_endpoint(&endpoint)
            .with_bucket_name(bucket)
            .with_access_key_id(&s3.key_id)
            .with_secret_access_key(&s3.secret)
            .with_region(&s3.region)
            .with_allow_http(url.scheme() == "http")
            .build()
            .map_err(|e| bad(e.to_string()))?;
        let store = Arc::new(store);
        Ok(Storage { store: store.clone(), signer: Some(store), place: format!("{endpoint}/{bucket}") })
    }

    /// A new upload of file `id`'s original, written in parts as it comes (a part or two
    /// held in memory at a time, [`Self::part_bytes`]), with the type and disposition
    /// it is served with.
    pub async fn writer(&self, id: &str, mime: &str, disposition: &str) -> Result<WriteMultipart, object_store::Error> {
        let options = PutMultipartOptions { attributes: self.attributes(mime, disposition), ..Default::default() };
        let upload = self.store.put_multipart_opts(&Form::Original.key(id), options).await?;
        Ok(WriteMultipart::new_with_chunk_size(upload, self.part_bytes()))
    }

    /// What an object store serves a file with, when it hands it out by a signed link
    /// (a directory keeps none: the server says it as it serves the file).
    fn attributes(&self, mime: &str, disposition: &str) -> Attributes {
        let mut attributes = Attributes::new();
        if self.signer.is_some() {
            attributes.insert(Attribute::ContentType, mime.to_owned().into());
            attributes.insert(Attribute::ContentDisposition, disposition.to_owned().into());
        }
        attributes
    }

    /// How much of an upload is held before it is written: S3's smallest part (5 MB) to
    /// an object store, 256 KB to a directory.
    pub fn part_bytes(&self) -> usize {
        if self.signer.is_some() {
            5 << 20
        } else {
            256 << 10
        }
    }

    /// Keeps a picture's re-encoded form.
    pub async fn put(&self, id: &str, form: Form, webp: Vec<u8>, disposition: &str) -> Result<(), object_store::Error> {
        let options =
            object_store::PutOptions { attributes: self.attributes("image/webp", disposition), ..Default::default() };
        self.store.put_opts(&form.key(id), webp.into(), options).await.map(drop)
    }

    /// Reads one form of file `id` (`None`: it is not there).
    pub async fn read(&self, id: &str, form: Form) -> Result<Option<Reading>, object_store::Error> {
        match self.store.get(&form.key(id)).await {
            Ok(got) => Ok(Some(Reading { size: got.meta.size, bytes: got.into_stream().boxed() })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A link to one form of file `id` that works for [`SIGNED_FOR`], when the files are
    /// in an object store (`None` for a directory).
    pub async fn signed(&self, id: &str, form: Form) -> Option<Result<url::Url, object_store::Error>> {
        let signer = self.signer.as_ref()?;
        Some(signer.signed_url(axum::http::Method::GET, &form.key(id), SIGNED_FOR).await)
    }

    /// Removes every form of file `id` (those that are there).
    pub async fn remove(&self, id: &str) -> Result<(), object_store::Error> {
        for form in [Form::Original, Form::Small, Form::Large] {
            match self.store.delete(&form.key(id)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
