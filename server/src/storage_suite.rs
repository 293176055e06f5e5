//! The storage test suite placeholder.
