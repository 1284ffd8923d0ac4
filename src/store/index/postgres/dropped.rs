//! The measures each metric lost to its back window, in a Gnocchi
//! deployment's database: Gnocchi keeps no such count, so carbonara adds
//! its own table, `carbonara_dropped_measures`, created by the first pass
//! that drops anything (as the SQLite index does). A metric's row goes with
//! the metric (`ON DELETE CASCADE`, whoever expunges it).

use std::collections::HashMap;

use postgres::types::Type;
use uuid::Uuid;

use super::PostgresIndex;
use crate::carbonara::update::Dropped;
use crate::store::Result;
use crate::store::index::{BackWindowDrops, DroppedTotal};
use crate::time::Timestamp;

/// Made by the first pass that drops anything.
const CREATE: &str = "
CREATE TABLE IF NOT EXISTS carbonara_dropped_measures (
    metric_id uuid PRIMARY KEY REFERENCES metric(id) ON DELETE CASCADE,
    measures bigint NOT NULL,
    accepts_from bigint NOT NULL
)";

impl PostgresIndex {
    fn has_dropped_table(&self) -> Result<bool> {
        let table: Option<String> = self
            .query(
                "SELECT to_regclass('carbonara_dropped_measures')::text",
                &[],
            )?
            .first()
            .expect("a SELECT without FROM gives one row")
            .try_get(0)?;
        Ok(table.is_some())
    }
}

impl BackWindowDrops for PostgresIndex {
    /// One statement for the whole pass; a metric named twice adds both
    /// counts and keeps the later `accepts_from`, as one row per drop would.
    fn record_dropped(&self, dropped: &[(Uuid, Dropped)]) -> Result<()> {
        if dropped.is_empty() {
            return Ok(());
        }
        if !self.has_dropped_table()? {
            self.create_own_table(CREATE)?;
        }
        let mut order = Vec::new();
        let mut totals: HashMap<Uuid, (i64, i64)> = HashMap::new();
        for (metric, drop) in dropped {
            let total = totals.entry(*metric).or_insert_with(|| {
                order.push(*metric);
                (0, 0)
            });
            total.0 += drop.measures as i64;
            total.1 = drop.accepts_from.nanos();
        }
        let measures: Vec<i64> = order.iter().map(|m| totals[m].0).collect();
        let accepts_from: Vec<i64> = order.iter().map(|m| totals[m].1).collect();
        self.query(
            "INSERT INTO carbonara_dropped_measures (metric_id, measures, accepts_from)
             SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[])
             ON CONFLICT (metric_id) DO UPDATE SET
                 measures = carbonara_dropped_measures.measures + excluded.measures,
                 accepts_from = excluded.accepts_from",
            &[
                (&order, Type::UUID_ARRAY),
                (&measures, Type::INT8_ARRAY),
                (&accepts_from, Type::INT8_ARRAY),
            ],
        )?;
        Ok(())
    }

    fn dropped_measures(&self, metric: Option<Uuid>) -> Result<Vec<DroppedTotal>> {
        if !self.has_dropped_table()? {
            return Ok(Vec::new());
        }
        self.query(
            "SELECT d.metric_id, d.measures, d.accepts_from FROM carbonara_dropped_measures AS d
             JOIN metric AS m ON m.id = d.metric_id
             WHERE m.status = 'active' AND ($1::uuid IS NULL OR d.metric_id = $1)
             ORDER BY d.metric_id",
            &[(&metric, Type::UUID)],
        )?
        .iter()
        .map(|row| {
            Ok(DroppedTotal {
                metric: row.try_get(0)?,
                measures: row.try_get::<_, i64>(1)? as u64,
                accepts_from: Timestamp::from_nanos(row.try_get(2)?),
            })
        })
        .collect()
    }
}
