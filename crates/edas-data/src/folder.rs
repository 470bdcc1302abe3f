//! Class-per-folder image data sets (the ImageNet layout):
//! `root/<class>/<image>.JPEG`, classes sorted by folder name, images sorted
//! by file name, decoded on demand (the loader's worker threads decode in
//! parallel).

use std::path::{Path, PathBuf};

use crate::cifar::Split;
use crate::dataset::{Image, ImageShape, ImageSource};
use crate::error::{DataError, Result};

/// File extensions read as images (case-insensitive).
pub const IMAGE_EXTENSIONS: [&str; 4] = ["jpeg", "jpg", "png", "bmp"];

/// A folder of class folders of images.
#[derive(Clone, Debug)]
pub struct ImageFolder {
    root: PathBuf,
    classes: Vec<String>,
    files: Vec<(PathBuf, usize)>,
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::Io {
        path: dir.to_owned(),
        source: e,
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| DataError::Io {
            path: dir.to_owned(),
            source: e,
        })?;
        paths.push(entry.path());
    }
    paths.sort();
    Ok(paths)
}

impl ImageFolder {
    /// Scans `root`: each sub-directory is a class, each image file in it an
    /// example. Fails if `root` is missing or holds no images.
    pub fn new(root: &Path) -> Result<ImageFolder> {
        let expected = "class folders of images (root/<class>/<image>.JPEG)";
        if !root.is_dir() {
            return Err(DataError::MissingDir {
                path: root.to_owned(),
                expected: expected.to_owned(),
            });
        }
        let mut classes = Vec::new();
        let mut files = Vec::new();
        for class_dir in read_dir_sorted(root)?.into_iter().filter(|p| p.is_dir()) {
            let label = classes.len();
            classes.push(
                class_dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            for file in read_dir_sorted(&class_dir)? {
                let is_image = file
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
                if is_image && file.is_file() {
                    files.push((file, label));
                }
            }
        }
        if files.is_empty() {
            return Err(DataError::Format {
                path: root.to_owned(),
                message: format!(
                    "no images found ({} class folders); expected {expected}",
                    classes.len()
                ),
            });
        }
        Ok(ImageFolder {
            root: root.to_owned(),
            classes,
            files,
        })
    }

    /// ImageNet's `root/train` or `root/val`.
    pub fn imagenet(root: &Path, split: Split) -> Result<ImageFolder> {
        let dir = match split {
            Split::Train => root.join("train"),
            Split::Test => root.join("val"),
        };
        ImageFolder::new(&dir)
    }

    /// The path of example `index`.
    pub fn path(&self, index: usize) -> &Path {
        &self.files[index].0
    }
}

/// The largest image file read (ImageNet's largest JPEG is about 15 MB).
const MAX_IMAGE_FILE: u64 = 256 << 20;

/// Decodes an image file into 8-bit RGB (or grayscale, for 1-channel files),
/// channel-planar.
pub fn decode_file(path: &Path) -> Result<Image> {
    let bytes = edas_fs::read_bounded(path, MAX_IMAGE_FILE, "JPEG or PNG image")
        .map_err(|e| DataError::fs(e, "an image file"))?;
    let decoded = image::load_from_memory(&bytes).map_err(|e| DataError::Decode {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    Ok(from_dynamic(decoded))
}

/// Converts a decoded image to our channel-planar form (grayscale stays 1
/// channel, everything else becomes RGB).
pub fn from_dynamic(img: image::DynamicImage) -> Image {
    let grayscale = matches!(img.color(), image::ColorType::L8 | image::ColorType::L16);
    let (w, h) = (img.width() as usize, img.height() as usize);
    if grayscale {
        return Image {
            shape: ImageShape::new(1, h, w),
            data: img.to_luma8().into_raw(),
        };
    }
    let rgb = img.to_rgb8().into_raw();
    let mut data = vec![0u8; 3 * h * w];
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        for c in 0..3 {
            data[c * h * w + i] = px[c];
        }
    }
    Image {
        shape: ImageShape::new(3, h, w),
        data,
    }
}

impl ImageSource for ImageFolder {
    fn len(&self) -> usize {
        self.files.len()
    }

    fn image(&self, index: usize) -> Result<Image> {
        decode_file(&self.files[index].0)
    }

    fn label(&self, index: usize) -> usize {
        self.files[index].1
    }

    fn num_classes(&self) -> usize {
        self.classes.len()
    }

    fn class_names(&self) -> &[String] {
        &self.classes
    }

    fn fixed_shape(&self) -> Option<ImageShape> {
        None
    }

    fn describe(&self) -> String {
        format!(
            "image folder {} ({} images, {} classes)",
            self.root.display(),
            self.files.len(),
            self.classes.len()
        )
    }
}
