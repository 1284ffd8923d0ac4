//! The measures each metric lost to its back window: counted by the pass
//! when it drops them, kept in the index so `status` and `info` can say
//! so later. Gnocchi drops such measures without a trace; carbonara drops
//! them too, but never in silence.
//!
//! The table is created by the first pass that drops anything, so an
//! index written before it existed needs no upgrade; a metric's row goes
//! with the metric.

use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::{SqliteIndex, parse_uuid};
use crate::carbonara::update::Dropped;
use crate::store::Result;
use crate::store::index::{BackWindowDrops, DroppedTotal};
use crate::time::Timestamp;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS dropped_measures (
    metric_id TEXT PRIMARY KEY REFERENCES metric(id) ON DELETE CASCADE,
    measures INTEGER NOT NULL,
    accepts_from INTEGER NOT NULL
);
";

impl BackWindowDrops for SqliteIndex {
    /// Adds what one pass dropped to each metric's total.
    fn record_dropped(&self, dropped: &[(Uuid, Dropped)]) -> Result<()> {
        self.connection.execute_batch(SCHEMA)?;
        let mut statement = self.connection.prepare_cached(
            "INSERT INTO dropped_measures (metric_id, measures, accepts_from) VALUES (?1, ?2, ?3)
             ON CONFLICT (metric_id) DO UPDATE SET
                 measures = measures + excluded.measures,
                 accepts_from = excluded.accepts_from",
        )?;
        for (metric, drop) in dropped {
            statement.execute(params![
                metric.to_string(),
                drop.measures as i64,
                drop.accepts_from.nanos()
            ])?;
        }
        Ok(())
    }

    /// The totals of the active metrics (of `metric` alone when given),
    /// by metric id.
    fn dropped_measures(&self, metric: Option<Uuid>) -> Result<Vec<DroppedTotal>> {
        let exists = self
            .connection
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dropped_measures'",
                [],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !exists {
            return Ok(Vec::new());
        }
        let mut statement = self.connection.prepare(
            "SELECT d.metric_id, d.measures, d.accepts_from FROM dropped_measures AS d
             JOIN metric AS m ON m.id = d.metric_id
             WHERE m.status = 'active' AND (?1 IS NULL OR d.metric_id = ?1)
             ORDER BY d.metric_id",
        )?;
        let rows = statement
            .query_map([metric.map(|m| m.to_string())], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(id, measures, accepts_from)| {
                Ok(DroppedTotal {
                    metric: parse_uuid(&id)?,
                    measures: measures as u64,
                    accepts_from: Timestamp::from_nanos(accepts_from),
                })
            })
            .collect()
    }
}
