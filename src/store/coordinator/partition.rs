//! Which sacks a gnocchi-metricd worker processes, given the members of
//! `gnocchi-processing` (`gnocchi/cli/metricd.py:
//! MetricProcessor._get_sacks_to_process`, docs/deployments.md#through-redis):
//! every sack whose name (`incoming128-17`: Gnocchi's sacks have no
//! `__tooz_hash__`, so tooz hashes `str(sack)`) puts the worker among its
//! `processing_replicas` members on tooz's ring of 200 partitions per
//! member (`join_partitioned_group(…, partitions=200)`); and when that
//! leaves the worker nothing, every sack ("Worker will battle against other
//! workers for jobs"). Pure: the members come from `membership`.

use super::super::incoming::SackName;
use super::hashring::HashRing;

/// The partitions per member gnocchi-metricd asks tooz for.
pub const PARTITIONS: u32 = 200;

/// The sacks `member` processes among `members`, in sack order, as
/// gnocchi-metricd computes them.
pub fn sacks_to_process<S: AsRef<str>>(
    members: &[S],
    member: &str,
    total_sacks: u32,
    processing_replicas: u32,
) -> Vec<SackName> {
    let ring = HashRing::new(members, PARTITIONS);
    let replicas = usize::try_from(processing_replicas).unwrap_or(usize::MAX);
    let sacks = (0..total_sacks).map(|number| SackName {
        total: total_sacks,
        number,
    });
    let own: Vec<SackName> = sacks
        .clone()
        .filter(|sack| {
            ring.nodes_for(sack.to_string().as_bytes(), replicas)
                .contains(&member)
        })
        .collect();
    if own.is_empty() { sacks.collect() } else { own }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_outside_the_ring_falls_back_to_every_sack() {
        let sacks = sacks_to_process(&["a.0.x", "b.0.y"], "c.0.z", 16, 1);
        assert_eq!(sacks.len(), 16);
        assert_eq!(
            sacks[5],
            SackName {
                total: 16,
                number: 5
            }
        );
    }
}
