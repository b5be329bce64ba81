//! Tabular data from a CSV file (`train --data FILE.csv`), read with the `csv` crate into
//! the same [`Data`] the generated data sets are.
//!
//! The file: a header row naming the columns, then one row per sample, every row with the
//! header's number of fields. Every column but the label is a feature (a finite number,
//! as `f32`); the label column (the last, or `--target`) holds class labels, non-negative
//! integers (`2` or `2.0`). Fields are trimmed, may be quoted, and blank lines are
//! skipped. Anything else is refused before any training, as a usage error naming the
//! file, the line and the column: an empty file, a header without data rows, a row with
//! another number of fields than the header, a missing or non-numeric value, a value
//! that is not finite in `f32`, a label that is not a non-negative integer or that the
//! network's outputs do not take.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use crate::{
    ctx::{failure, usage, ErrorKind},
    data::Data,
    Res,
};

/// A CSV file whose header has been read: its columns and which one is the label.
pub struct CsvReader {
    path: PathBuf,
    reader: csv::Reader<Cursor<Vec<u8>>>,
    columns: Vec<String>,
    target: usize,
    lines: Lines,
}

/// The file's line of a record, from the byte where the `csv` crate says the record
/// starts: its own `Position::line` is one short after blank lines and with CRLF line
/// ends (rust-csv issues 208 and 395), the byte offset at worst points at the line ends
/// before the record.
#[derive(Clone, Copy, Debug, Default)]
struct Lines {
    /// Bytes scanned so far, and the line ends among them.
    at: usize,
    ends: u64,
}

impl Lines {
    /// The 1-based line of the first byte at or after `byte` that is not a line end.
    /// Records come in order, so the scan goes once over the file.
    fn line_of(&mut self, text: &[u8], byte: u64) -> u64 {
        let mut p = usize::try_from(byte).unwrap_or(usize::MAX).min(text.len());
        while p < text.len() && matches!(text[p], b'\r' | b'\n') {
            p += 1;
        }
        if p >= self.at {
            self.ends += text[self.at..p].iter().filter(|&&b| b == b'\n').count() as u64;
            self.at = p;
        } else {
            return 1 + text[..p].iter().filter(|&&b| b == b'\n').count() as u64;
        }
        1 + self.ends
    }
}

/// What a read may hold: at most `max_rows` data rows and labels up to `max_label`, each
/// with the reason the message gives when the file goes past it.
#[derive(Clone, Debug)]
pub struct RowLimits {
    /// The most data rows.
    pub max_rows: usize,
    /// Why (`the trainer indexes at most 65536 rows`, the memory budget).
    pub rows_why: String,
    /// The largest label.
    pub max_label: u8,
    /// Why (the network's outputs).
    pub label_why: String,
}

/// The rows of a CSV file as [`Data`], with their columns' names.
#[derive(Clone, Debug)]
pub struct Table {
    /// The samples: the feature columns in the file's order, the labels; `classes` is the
    /// largest label + 1.
    pub data: Data,
    /// The feature columns' names, in order.
    pub features: Vec<String>,
    /// The label column's name.
    pub label: String,
    /// Each row's line in the file (1-based; the header is line 1).
    pub lines: Vec<u64>,
}

impl CsvReader {
    /// Reads `path` (whole: the caller has checked its size) and its header; the label
    /// column is `target` (a header name, or a 0-based column index when no header has
    /// that name), by default the last.
    ///
    /// # Errors
    /// `io` if the file cannot be read; usage errors for an empty file, a header of fewer
    /// than two columns, a `target` that names no column or several, a header that is not
    /// CSV.
    pub fn open(path: &Path, target: Option<&str>) -> Res<Self> {
        let file = std::fs::read(path)
            .map(Cursor::new)
            .map_err(|e| failure(ErrorKind::Io, format!("--data {}: {e}", path.display())))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(file);
        let name = path.display();
        let header = match reader.headers() {
            Ok(h) => h.clone(),
            Err(e) => return usage(format!("--data {name}: line 1 (the header): {e}")),
        };
        if header.is_empty() {
            return usage(format!(
                "--data {name}: the file is empty (expected a header row naming the columns, \
                 then one row per sample)"
            ));
        }
        let columns: Vec<String> = header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                if h.is_empty() {
                    format!("#{i}")
                } else {
                    h.to_string()
                }
            })
            .collect();
        if columns.len() < 2 {
            return usage(format!(
                "--data {name}: the header has {} column (`{}`); the data needs at least one \
                 feature column and a label column",
                columns.len(),
                columns[0]
            ));
        }
        let target = match target {
            None => columns.len() - 1,
            Some(t) => {
                let named: Vec<usize> = (0..columns.len())
                    .filter(|&i| header.get(i) == Some(t))
                    .collect();
                match (named.as_slice(), t.parse::<usize>()) {
                    ([i], _) => *i,
                    ([], Ok(i)) if i < columns.len() => i,
                    ([], _) => {
                        return usage(format!(
                            "--target {t}: --data {name} has no column named `{t}` and no \
                             column index {t} (its columns, 0-based: {})",
                            columns
                                .iter()
                                .enumerate()
                                .map(|(i, c)| format!("{i} `{c}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    }
                    (many, _) => {
                        return usage(format!(
                            "--target {t}: --data {name} has {} columns named `{t}` (at \
                             0-based indices {:?}); pick one by index",
                            many.len(),
                            many
                        ))
                    }
                }
            }
        };
        Ok(CsvReader {
            path: path.to_path_buf(),
            reader,
            columns,
            target,
            lines: Lines::default(),
        })
    }

    /// The line of the record that starts at `pos` (or near it).
    fn line(&mut self, pos: Option<&csv::Position>) -> u64 {
        let text = self.reader.get_ref().get_ref();
        match pos {
            Some(p) => self.lines.line_of(text, p.byte()),
            None => 0,
        }
    }

    /// Feature columns (every column but the label).
    pub fn features(&self) -> usize {
        self.columns.len() - 1
    }

    /// The label column's name.
    pub fn label(&self) -> &str {
        &self.columns[self.target]
    }

    /// Reads every data row.
    ///
    /// # Errors
    /// Usage errors naming the file, the line and the column: no data rows, more than
    /// `limits.max_rows`, a row with another number of fields than the header, a missing,
    /// non-numeric or non-finite value, a label that is not a non-negative integer or
    /// exceeds `limits.max_label`, a line that is not CSV (bad UTF-8).
    pub fn read(mut self, limits: &RowLimits) -> Res<Table> {
        let name = self.path.display().to_string();
        let width = self.columns.len();
        let mut x = Vec::new();
        let mut labels = Vec::new();
        let mut lines = Vec::new();
        let mut record = csv::StringRecord::new();
        loop {
            match self.reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    let pos = e.position().cloned();
                    let line = self.line(pos.as_ref());
                    let why = match e.kind() {
                        csv::ErrorKind::Utf8 { err, .. } => {
                            format!("field {} is not UTF-8 text", err.field() + 1)
                        }
                        _ => e.to_string(),
                    };
                    return usage(format!("--data {name} line {line}: {why}"));
                }
            }
            let line = self.line(record.position());
            if labels.len() == limits.max_rows {
                return usage(format!(
                    "--data {name} line {line}: more than {} data rows ({})",
                    limits.max_rows, limits.rows_why
                ));
            }
            if record.len() != width {
                return usage(format!(
                    "--data {name} line {line}: {} field(s), but the header has {width} columns",
                    record.len()
                ));
            }
            for (i, field) in record.iter().enumerate() {
                let column = &self.columns[i];
                let at = || format!("--data {name} line {line}, column `{column}`");
                if field.is_empty() {
                    return usage(format!("{}: missing value", at()));
                }
                if i == self.target {
                    let label = match field.parse::<f64>() {
                        Ok(v) if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= 255.0 => {
                            v as u8
                        }
                        _ => {
                            return usage(format!(
                                "{} (the label): `{field}` is not a class label (an integer \
                                 from 0 to 255)",
                                at()
                            ))
                        }
                    };
                    if label > limits.max_label {
                        return usage(format!(
                            "{} (the label): label {label}, but {}",
                            at(),
                            limits.label_why
                        ));
                    }
                    labels.push(label);
                    continue;
                }
                match field.parse::<f32>() {
                    Ok(v) if v.is_finite() => x.push(v),
                    Ok(_) => {
                        return usage(format!("{}: `{field}` is not a finite number (f32)", at()))
                    }
                    Err(_) => return usage(format!("{}: `{field}` is not a number", at())),
                }
            }
            lines.push(line);
        }
        if labels.is_empty() {
            return usage(format!(
                "--data {name}: no data rows after the header (line 1)"
            ));
        }
        let classes = usize::from(labels.iter().copied().max().unwrap_or(0)) + 1;
        let features: Vec<String> = (0..width)
            .filter(|&i| i != self.target)
            .map(|i| self.columns[i].clone())
            .collect();
        Ok(Table {
            data: Data {
                x,
                features: width - 1,
                labels,
                classes,
            },
            features,
            label: self.columns[self.target].clone(),
            lines,
        })
    }
}
