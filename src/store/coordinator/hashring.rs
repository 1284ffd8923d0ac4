//! tooz's consistent hash ring (`tooz/hashring.py: HashRing`, tooz 9.1.0),
//! bit for bit, so that carbonara and gnocchi-metricd put every object on
//! the same members (docs/deployments.md#through-redis):
//!
//! * each node (a member id, its UTF-8 bytes) has `partitions` points: an
//!   MD5 is fed the id once, then the id again before each point is read,
//!   so point `r` is `md5(id × (r + 2))` read as a 128-bit big-endian
//!   integer (Python's `int(hexdigest, 16)`); a point two nodes share goes
//!   to the node added last, as in tooz's dict;
//! * an object's bytes hash the same way; its first node owns the first
//!   point strictly after that hash (`bisect.bisect`), wrapping to the
//!   first point; further replicas walk on along the ring, skipping nodes
//!   already taken, until `min(replicas, nodes)` distinct nodes.
//!
//! Every node has weight 1: gnocchi-metricd joins with `{"weight": 1}`,
//! and the statistics it later writes as capabilities have no weight.
//! Pure: no I/O.

use std::collections::BTreeMap;

use md5::{Digest, Md5};

/// Nodes and their points.
#[derive(Debug, Clone)]
pub struct HashRing {
    nodes: Vec<String>,
    /// Point → index in `nodes`.
    points: BTreeMap<u128, usize>,
}

impl HashRing {
    /// The ring of `nodes`, each with `partitions` points (gnocchi-metricd
    /// asks for 200).
    pub fn new<S: AsRef<str>>(nodes: &[S], partitions: u32) -> HashRing {
        let mut ring = HashRing {
            nodes: Vec::with_capacity(nodes.len()),
            points: BTreeMap::new(),
        };
        for node in nodes {
            let node = node.as_ref();
            if ring.nodes.iter().any(|known| known == node) {
                // tooz builds its ring from a set.
                continue;
            }
            let index = ring.nodes.len();
            ring.nodes.push(node.to_owned());
            let mut hash = Md5::new();
            hash.update(node.as_bytes());
            for _ in 0..partitions {
                hash.update(node.as_bytes());
                ring.points
                    .insert(point(hash.clone().finalize().as_slice()), index);
            }
        }
        ring
    }

    /// The nodes an object's bytes map onto, `replicas` of them (fewer when
    /// the ring has fewer nodes), in ring order.
    pub fn nodes_for(&self, data: &[u8], replicas: usize) -> Vec<&str> {
        let wanted = replicas.min(self.nodes.len());
        let hash = point(Md5::digest(data).as_slice());
        // The first point after the hash, then around the ring once.
        let after = self
            .points
            .range((std::ops::Bound::Excluded(hash), std::ops::Bound::Unbounded));
        let mut found: Vec<&str> = Vec::with_capacity(wanted);
        for (_, &index) in after.chain(self.points.range(..=hash)) {
            if found.len() == wanted {
                break;
            }
            let node = self.nodes[index].as_str();
            if !found.contains(&node) {
                found.push(node);
            }
        }
        found
    }
}

/// A digest as the integer Python's `int(hexdigest, 16)` reads.
fn point(digest: &[u8]) -> u128 {
    digest
        .iter()
        .fold(0u128, |value, &byte| (value << 8) | u128::from(byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_md5_of_the_id_repeated_read_big_endian() {
        let ring = HashRing::new(&["a"], 2);
        let expected: Vec<u128> = ["aa", "aaa"]
            .iter()
            .map(|text| u128::from_str_radix(&format!("{:x}", Md5::digest(text)), 16).unwrap())
            .collect();
        assert_eq!(ring.points.keys().copied().collect::<Vec<_>>(), {
            let mut sorted = expected.clone();
            sorted.sort_unstable();
            sorted
        });
    }

    #[test]
    fn replicas_are_distinct_and_capped_by_the_nodes() {
        let ring = HashRing::new(&["a", "b", "c", "a"], 50);
        for sack in 0..128 {
            let data = format!("incoming128-{sack}");
            let one = ring.nodes_for(data.as_bytes(), 1);
            let all = ring.nodes_for(data.as_bytes(), 9);
            assert_eq!(one.len(), 1);
            assert_eq!(all.len(), 3, "{all:?}");
            assert_eq!(one[0], all[0]);
        }
        assert!(
            HashRing::new::<&str>(&[], 200)
                .nodes_for(b"x", 3)
                .is_empty()
        );
    }
}
