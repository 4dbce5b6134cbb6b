//! The guestbook's entries, in memory: the newest 100, newest first.

use std::collections::VecDeque;
use std::sync::Mutex;

const KEEP: usize = 100;

static ENTRIES: Mutex<VecDeque<String>> = Mutex::new(VecDeque::new());

pub(super) fn add(message: String) {
    let mut entries = ENTRIES.lock().unwrap_or_else(|e| e.into_inner());
    entries.push_front(message);
    entries.truncate(KEEP);
}

pub(super) fn all() -> Vec<String> {
    let entries = ENTRIES.lock().unwrap_or_else(|e| e.into_inner());
    entries.iter().cloned().collect()
}
