//! What a run keeps for the views drawn after it (`--explain`, `--report`, `--compare`):
//! the transfers, their files and their ladders, as the session stage reported them.

use super::event::{FileSeen, Ladder, TransferSummary};
use super::TransferId;

/// Transfers, files and ladders of one run, in the order they were reported.
#[derive(Clone, Debug, Default)]
pub struct RunRecord {
    pub transfers: Vec<TransferSummary>,
    pub files: Vec<(TransferId, FileSeen)>,
    pub ladders: Vec<Ladder>,
}

impl RunRecord {
    pub fn transfer(&self, id: TransferId) -> Option<&TransferSummary> {
        self.transfers.iter().find(|t| t.transfer == id)
    }

    pub fn ladder(&self, id: TransferId) -> Option<&Ladder> {
        self.ladders.iter().find(|l| l.transfer == id)
    }

    pub fn files_of(&self, id: TransferId) -> impl Iterator<Item = &FileSeen> {
        self.files
            .iter()
            .filter(move |(t, _)| *t == id)
            .map(|(_, f)| f)
    }
}
