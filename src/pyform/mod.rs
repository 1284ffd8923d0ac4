//! Gnocchi's text forms, as its Python code makes and reads them: `fmt`
//! (`repr(float)`, `str(timedelta)`, `repr(str)`), `float` (what `float()`
//! accepts), `json` (`json.dumps`) and `document` (the REST API's JSON
//! documents of carbonara's objects). Every command and answer that must
//! match a real Gnocchi byte for byte goes through here.

pub mod document;
pub mod float;
pub mod fmt;
pub mod json;
