//! Archive policies, their definitions and aggregation methods, and
//! archive-policy rules, with Gnocchi 4.7's validation rules and messages
//! (docs/gnocchi-semantics.md#archive-policies). Pure values: no storage, no I/O.

use std::fmt;
use std::str::FromStr;

use crate::time::{self, Span};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("timespan ≠ granularity × points")]
    TimespanMismatch,
    #[error("Granularity should be > 0")]
    GranularityNotPositive,
    #[error("Number of points should be > 0")]
    PointsNotPositive,
    #[error("At least two of granularity/points/timespan must be provided")]
    NotEnoughAttributes,
    #[error("Calculated number of points is < 0")]
    NoPoints,
    #[error("More than one archive policy uses granularity `{0}'")]
    DuplicateGranularity(String),
    #[error("An archive policy needs at least one definition")]
    EmptyDefinition,
    #[error("Invalid value for aggregation_methods: {0}")]
    InvalidAggregationMethods(String),
    #[error(
        "Invalid aggregation method `{0}': expected mean, median, sum, min, max, std, count, first, last, 1pct…99pct, optionally prefixed by rate:"
    )]
    UnknownMethod(String),
    #[error("Invalid definition `{text}': {reason}")]
    InvalidDefinition { text: String, reason: String },
    #[error("Archive policy {name} does not support change: {reason}")]
    UnsupportedChange { name: String, reason: String },
}

/// What an aggregation computes over the points of one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BaseMethod {
    Mean,
    Median,
    Sum,
    Min,
    Max,
    Std,
    Count,
    First,
    Last,
    /// `NNpct`, 1 to 99.
    Percentile(u8),
}

impl BaseMethod {
    const NAMED: [(&'static str, BaseMethod); 9] = [
        ("mean", BaseMethod::Mean),
        ("sum", BaseMethod::Sum),
        ("last", BaseMethod::Last),
        ("max", BaseMethod::Max),
        ("min", BaseMethod::Min),
        ("std", BaseMethod::Std),
        ("median", BaseMethod::Median),
        ("first", BaseMethod::First),
        ("count", BaseMethod::Count),
    ];

    /// Every base method: the nine named ones, then 1pct … 99pct.
    pub fn all() -> impl Iterator<Item = BaseMethod> {
        Self::NAMED
            .iter()
            .map(|(_, m)| *m)
            .chain((1..=99).map(BaseMethod::Percentile))
    }
}

impl fmt::Display for BaseMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BaseMethod::Percentile(q) => write!(f, "{q}pct"),
            named => {
                let name = Self::NAMED
                    .iter()
                    .find(|(_, m)| m == named)
                    .map(|(n, _)| *n)
                    .expect("every non-percentile method is in NAMED");
                f.write_str(name)
            }
        }
    }
}

impl FromStr for BaseMethod {
    type Err = PolicyError;
    fn from_str(text: &str) -> Result<Self, PolicyError> {
        if let Some((_, method)) = Self::NAMED.iter().find(|(n, _)| *n == text) {
            return Ok(*method);
        }
        let unknown = || PolicyError::UnknownMethod(text.to_owned());
        let digits = text.strip_suffix("pct").ok_or_else(unknown)?;
        let leading_zero = digits.starts_with('0');
        let valid_digits =
            !digits.is_empty() && digits.len() <= 2 && digits.bytes().all(|b| b.is_ascii_digit());
        if leading_zero || !valid_digits {
            return Err(unknown());
        }
        Ok(BaseMethod::Percentile(
            digits.parse().map_err(|_| unknown())?,
        ))
    }
}

/// An aggregation method as a policy names it: `mean`, `95pct`, `rate:last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AggregationMethod {
    /// `rate:X` aggregates the differences between consecutive raw points.
    pub rate: bool,
    pub base: BaseMethod,
}

impl AggregationMethod {
    pub const fn plain(base: BaseMethod) -> Self {
        AggregationMethod { rate: false, base }
    }

    /// The 216 valid methods, the set Gnocchi's `/v1/capabilities` lists.
    pub fn all() -> Vec<AggregationMethod> {
        [false, true]
            .into_iter()
            .flat_map(|rate| BaseMethod::all().map(move |base| AggregationMethod { rate, base }))
            .collect()
    }

    /// `[archive_policy] default_aggregation_methods`.
    pub fn defaults() -> Vec<AggregationMethod> {
        use BaseMethod::*;
        [Mean, Min, Max, Sum, Std, Count]
            .into_iter()
            .map(AggregationMethod::plain)
            .collect()
    }
}

impl fmt::Display for AggregationMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rate {
            f.write_str("rate:")?;
        }
        self.base.fmt(f)
    }
}

impl FromStr for AggregationMethod {
    type Err = PolicyError;
    fn from_str(text: &str) -> Result<Self, PolicyError> {
        let (rate, base) = match text.strip_prefix("rate:") {
            Some(base) => (true, base),
            None => (false, text),
        };
        let base = base
            .parse()
            .map_err(|_| PolicyError::UnknownMethod(text.to_owned()))?;
        Ok(AggregationMethod { rate, base })
    }
}

/// Resolves a policy's `aggregation_methods` list the way Gnocchi does:
/// `*` = all 216; a list of only `+m`/`-m` entries is relative to
/// `defaults`; otherwise the names given. Unlike Gnocchi, lists that mix
/// plain names with `+`/`-` entries, or add and remove the same method, are
/// refused, since Gnocchi's result for them is accidental
/// (docs/differences.md#archive-policies). The result is sorted by name.
pub fn resolve_aggregation_methods(
    entries: &[String],
    defaults: &[AggregationMethod],
) -> Result<Vec<AggregationMethod>, PolicyError> {
    let invalid = || PolicyError::InvalidAggregationMethods(format!("{entries:?}"));
    let is_relative = |e: &String| e.starts_with('+') || e.starts_with('-');
    let has_star = entries.iter().any(|e| e == "*");
    let relative_count = entries.iter().filter(|e| is_relative(e)).count();
    let plain_count = entries.len() - relative_count - entries.iter().filter(|e| *e == "*").count();
    if plain_count > 0 && (has_star || relative_count > 0) {
        return Err(invalid());
    }
    let mut methods: Vec<AggregationMethod> = if has_star {
        AggregationMethod::all()
    } else if relative_count == entries.len() {
        defaults.to_vec()
    } else {
        Vec::new()
    };
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for entry in entries {
        match entry.as_bytes().first() {
            Some(b'*') => {}
            Some(b'+') => added.push(entry[1..].parse::<AggregationMethod>()?),
            Some(b'-') => removed.push(entry[1..].parse::<AggregationMethod>()?),
            _ => methods.push(entry.parse()?),
        }
    }
    if added.iter().any(|m| removed.contains(m)) {
        return Err(invalid());
    }
    methods.extend(added);
    methods.retain(|m| !removed.contains(m));
    Ok(sorted_unique(methods))
}

fn sorted_unique(mut methods: Vec<AggregationMethod>) -> Vec<AggregationMethod> {
    methods.sort_by_cached_key(|m| m.to_string());
    methods.dedup();
    methods
}

/// One item of an archive policy: a granularity kept for `points` buckets
/// (`timespan` = granularity × points), or forever when both are `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Definition {
    pub granularity: Span,
    pub points: Option<u64>,
    pub timespan: Option<Span>,
}

impl Definition {
    /// Builds an item from any two of the three attributes, with Gnocchi's
    /// `ArchivePolicyItem` rules: the timespan is rounded down to a whole
    /// number of points; a granularity alone means infinite retention.
    pub fn new(
        granularity: Option<Span>,
        points: Option<i64>,
        timespan: Option<Span>,
    ) -> Result<Definition, PolicyError> {
        if let (Some(g), Some(p), Some(t)) = (granularity, points, timespan)
            && g.checked_mul(p) != Some(t)
        {
            return Err(PolicyError::TimespanMismatch);
        }
        if granularity.is_some_and(|g| g.nanos() <= 0) {
            return Err(PolicyError::GranularityNotPositive);
        }
        if points.is_some_and(|p| p <= 0) {
            return Err(PolicyError::PointsNotPositive);
        }
        let granularity = match (granularity, points, timespan) {
            (Some(g), _, _) => g,
            (None, Some(p), Some(t)) => {
                let g = Span::from_nanos((t.nanos() as f64 / p as f64) as i64);
                if g.nanos() <= 0 {
                    return Err(PolicyError::GranularityNotPositive);
                }
                g
            }
            _ => return Err(PolicyError::NotEnoughAttributes),
        };
        let points = match (points, timespan) {
            (Some(p), _) => Some(p),
            (None, None) => None,
            (None, Some(t)) => {
                let p = (t.nanos() as f64 / granularity.nanos() as f64) as i64;
                if p <= 0 {
                    return Err(PolicyError::NoPoints);
                }
                Some(p)
            }
        };
        let timespan = match points {
            Some(p) => Some(
                granularity
                    .checked_mul(p)
                    .ok_or(PolicyError::TimespanMismatch)?,
            ),
            None => None,
        };
        Ok(Definition {
            granularity,
            points: points.map(|p| p as u64),
            timespan,
        })
    }
}

/// gnocchiclient's `-d granularity:1m,points:60` (any two of granularity,
/// points, timespan; spans in Gnocchi's timespan syntax).
impl FromStr for Definition {
    type Err = PolicyError;
    fn from_str(text: &str) -> Result<Self, PolicyError> {
        let invalid = |reason: String| PolicyError::InvalidDefinition {
            text: text.to_owned(),
            reason,
        };
        let (mut granularity, mut points, mut timespan) = (None, None, None);
        for part in text.split(',') {
            let (key, value) = part
                .split_once(':')
                .ok_or_else(|| invalid(format!("`{part}' is not KEY:VALUE")))?;
            let value = value.trim();
            match key.trim() {
                "granularity" => {
                    granularity =
                        Some(time::parse_timespan(value).map_err(|e| invalid(e.to_string()))?)
                }
                "timespan" => {
                    timespan =
                        Some(time::parse_timespan(value).map_err(|e| invalid(e.to_string()))?)
                }
                "points" => {
                    points = Some(
                        value
                            .parse::<i64>()
                            .map_err(|_| invalid(format!("points `{value}' is not an integer")))?,
                    )
                }
                other => {
                    return Err(invalid(format!(
                        "unknown key `{other}' (expected granularity, points or timespan)"
                    )));
                }
            }
        }
        Definition::new(granularity, points, timespan)
    }
}

/// One (method, granularity) series an archive policy stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Aggregation {
    pub method: AggregationMethod,
    pub granularity: Span,
    pub timespan: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArchivePolicy {
    pub name: String,
    pub back_window: u64,
    pub definition: Vec<Definition>,
    /// Sorted by name, no duplicates.
    pub aggregation_methods: Vec<AggregationMethod>,
}

impl ArchivePolicy {
    pub fn new(
        name: impl Into<String>,
        back_window: u64,
        definition: Vec<Definition>,
        aggregation_methods: Vec<AggregationMethod>,
    ) -> Result<ArchivePolicy, PolicyError> {
        if definition.is_empty() {
            return Err(PolicyError::EmptyDefinition);
        }
        for (i, item) in definition.iter().enumerate() {
            if definition[..i]
                .iter()
                .any(|d| d.granularity == item.granularity)
            {
                return Err(PolicyError::DuplicateGranularity(
                    item.granularity.to_string(),
                ));
            }
        }
        Ok(ArchivePolicy {
            name: name.into(),
            back_window,
            definition,
            aggregation_methods: sorted_unique(aggregation_methods),
        })
    }

    /// The block size of the bound series: the largest granularity.
    pub fn max_block_size(&self) -> Span {
        self.definition
            .iter()
            .map(|d| d.granularity)
            .max()
            .expect("a policy has at least one definition")
    }

    /// Blocks of raw points kept behind the newest one: `back_window`, plus
    /// one when any `rate:` method needs the previous point.
    pub fn effective_back_window(&self) -> u64 {
        self.back_window + u64::from(self.aggregation_methods.iter().any(|m| m.rate))
    }

    /// Every (method, granularity) the policy stores, by granularity then method.
    pub fn aggregations(&self) -> Vec<Aggregation> {
        let mut definitions = self.definition.clone();
        definitions.sort_by_key(|d| d.granularity);
        definitions
            .iter()
            .flat_map(|d| {
                self.aggregation_methods
                    .iter()
                    .map(move |&method| Aggregation {
                        method,
                        granularity: d.granularity,
                        timespan: d.timespan,
                    })
            })
            .collect()
    }

    pub fn aggregation(&self, method: AggregationMethod, granularity: Span) -> Option<Aggregation> {
        if !self.aggregation_methods.contains(&method) {
            return None;
        }
        let definition = self
            .definition
            .iter()
            .find(|d| d.granularity == granularity)?;
        Some(Aggregation {
            method,
            granularity,
            timespan: definition.timespan,
        })
    }

    /// Granularities, coarsest first (the order Gnocchi returns measures in).
    pub fn granularities_descending(&self) -> Vec<Span> {
        let mut granularities: Vec<Span> = self.definition.iter().map(|d| d.granularity).collect();
        granularities.sort_by(|a, b| b.cmp(a));
        granularities
    }

    /// Checks a new definition against this policy: only points/timespan
    /// may change, never the set of granularities.
    pub fn check_update(&self, definition: &[Definition]) -> Result<(), PolicyError> {
        let unsupported = |reason: String| PolicyError::UnsupportedChange {
            name: self.name.clone(),
            reason,
        };
        if definition.len() != self.definition.len() {
            return Err(unsupported("Cannot add or drop granularities".to_owned()));
        }
        // Gnocchi pairs both definitions sorted by granularity and names the
        // current granularity of the first pair that differs
        // (`SQLAlchemyIndexer.update_archive_policy`).
        let mut current: Vec<Span> = self.definition.iter().map(|d| d.granularity).collect();
        let mut new: Vec<Span> = definition.iter().map(|d| d.granularity).collect();
        current.sort();
        new.sort();
        match current.iter().zip(&new).find(|(c, n)| c != n) {
            Some((changed, _)) => Err(unsupported(format!(
                "{changed} granularity interval was changed"
            ))),
            None => Ok(()),
        }
    }

    /// The policies `gnocchi-upgrade` creates: bool, low, medium, high.
    pub fn defaults() -> Vec<ArchivePolicy> {
        let day = 86_400;
        let item = |granularity: i64, timespan: i64| {
            Definition::new(
                Some(Span::from_secs(granularity)),
                None,
                Some(Span::from_secs(timespan)),
            )
            .expect("default definitions are valid")
        };
        let policy = |name: &str, back_window, definition, methods| {
            ArchivePolicy::new(name, back_window, definition, methods)
                .expect("default policies are valid")
        };
        let defaults = AggregationMethod::defaults();
        vec![
            policy(
                "bool",
                3600,
                vec![item(1, 365 * day)],
                vec![AggregationMethod::plain(BaseMethod::Last)],
            ),
            policy("low", 0, vec![item(300, 30 * day)], defaults.clone()),
            policy(
                "medium",
                0,
                vec![item(60, 7 * day), item(3600, 365 * day)],
                defaults.clone(),
            ),
            policy(
                "high",
                0,
                vec![item(1, 3600), item(60, 7 * day), item(3600, 365 * day)],
                defaults,
            ),
        ]
    }
}

/// Picks an archive policy for a metric created without one, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivePolicyRule {
    pub name: String,
    pub metric_pattern: String,
    pub archive_policy_name: String,
}

impl ArchivePolicyRule {
    /// The rule `gnocchi-upgrade` creates with the default policies.
    pub fn default_rule() -> ArchivePolicyRule {
        ArchivePolicyRule {
            name: "default".to_owned(),
            metric_pattern: "*".to_owned(),
            archive_policy_name: "low".to_owned(),
        }
    }

    /// Gnocchi's matching order: pattern descending (byte order), then name.
    fn matching_order(a: &ArchivePolicyRule, b: &ArchivePolicyRule) -> std::cmp::Ordering {
        b.metric_pattern
            .as_bytes()
            .cmp(a.metric_pattern.as_bytes())
            .then_with(|| a.name.cmp(&b.name))
    }

    /// Sorts rules in matching order, the order Gnocchi lists them in.
    pub fn sort(rules: &mut [ArchivePolicyRule]) {
        rules.sort_by(Self::matching_order);
    }

    /// The first rule, in matching order, whose pattern matches the name (an
    /// unnamed metric is matched as the empty string).
    pub fn find_match<'a>(
        rules: &'a [ArchivePolicyRule],
        metric_name: &str,
    ) -> Option<&'a ArchivePolicyRule> {
        rules
            .iter()
            .filter(|r| fnmatch(&r.metric_pattern, metric_name))
            .min_by(|a, b| Self::matching_order(a, b))
    }
}

/// A rule that can never match because another is tried first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shadow<'a> {
    pub winner: &'a ArchivePolicyRule,
    pub loser: &'a ArchivePolicyRule,
}

impl ArchivePolicyRule {
    /// The rules that `new` hides, or that hide it, once it joins
    /// `existing`: of two rules with the same pattern only the first by
    /// name ever matches, and a pattern without wildcards never wins when
    /// a rule tried before it matches that very name.
    pub fn shadows<'a>(
        existing: &'a [ArchivePolicyRule],
        new: &'a ArchivePolicyRule,
    ) -> Vec<Shadow<'a>> {
        let literal = |rule: &ArchivePolicyRule| !rule.metric_pattern.contains(['*', '?', '[']);
        let before =
            |a: &ArchivePolicyRule, b: &ArchivePolicyRule| Self::matching_order(a, b).is_lt();
        let mut found = Vec::new();
        for rule in existing.iter().filter(|r| r.name != new.name) {
            let (first, second) = if before(rule, new) {
                (rule, new)
            } else {
                (new, rule)
            };
            let hidden = first.metric_pattern == second.metric_pattern
                || (literal(second) && fnmatch(&first.metric_pattern, &second.metric_pattern));
            if hidden {
                found.push(Shadow {
                    winner: first,
                    loser: second,
                });
            }
        }
        found
    }
}

/// Python's `fnmatch.fnmatch` on POSIX: whole-string, case-sensitive; `*`
/// matches any run (`.` and `/` included), `?` one character, `[seq]` and
/// `[!seq]` sets with ranges; an unclosed `[` is a literal; no escapes.
pub fn fnmatch(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    fnmatch_from(&pattern, &name)
}

fn fnmatch_from(pattern: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0, 0);
    // Position after the last `*` and the name position it was tried at.
    let mut backtrack: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p + 1, n));
                p += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => match parse_set(&pattern[p..]) {
                Some((len, set)) => set.matches(name[n]).then_some(len),
                None => (name[n] == '[').then_some(1),
            },
            Some(&c) => (c == name[n]).then_some(1),
            None => None,
        };
        match step {
            Some(len) => {
                p += len;
                n += 1;
            }
            None => match backtrack {
                Some((after_star, tried)) => {
                    p = after_star;
                    n = tried + 1;
                    backtrack = Some((after_star, tried + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

struct CharSet {
    negated: bool,
    ranges: Vec<(char, char)>,
}

impl CharSet {
    fn matches(&self, c: char) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != self.negated
    }
}

/// Parses `[...]` at the start of `pattern`; returns its length and set.
fn parse_set(pattern: &[char]) -> Option<(usize, CharSet)> {
    let mut i = 1;
    let negated = pattern.get(i) == Some(&'!');
    if negated {
        i += 1;
    }
    let first = i;
    let mut ranges = Vec::new();
    while i < pattern.len() {
        let c = pattern[i];
        if c == ']' && i > first {
            return Some((i + 1, CharSet { negated, ranges }));
        }
        if pattern.get(i + 1) == Some(&'-') && pattern.get(i + 2).is_some_and(|&e| e != ']') {
            ranges.push((c, pattern[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: i64) -> Span {
        Span::from_secs(s)
    }

    fn names(methods: &[AggregationMethod]) -> Vec<String> {
        methods.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn method_names_round_trip_and_count() {
        let all = AggregationMethod::all();
        assert_eq!(all.len(), 216);
        for method in &all {
            assert_eq!(
                method.to_string().parse::<AggregationMethod>().unwrap(),
                *method
            );
        }
        for bad in [
            "0pct",
            "100pct",
            "05pct",
            "pct",
            "avg",
            "rate:",
            "rate:rate:mean",
            "Mean",
        ] {
            assert!(bad.parse::<AggregationMethod>().is_err(), "{bad}");
        }
    }

    #[test]
    fn method_lists_resolve_like_gnocchi() {
        let defaults = AggregationMethod::defaults();
        let resolve = |entries: &[&str]| {
            let entries: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
            resolve_aggregation_methods(&entries, &defaults).map(|m| names(&m))
        };
        assert_eq!(
            resolve(&["-mean", "-last"]).unwrap(),
            ["count", "max", "min", "std", "sum"]
        );
        assert_eq!(
            resolve(&["+rate:last"]).unwrap(),
            ["count", "max", "mean", "min", "rate:last", "std", "sum"]
        );
        assert_eq!(resolve(&["*", "-rate:mean"]).unwrap().len(), 215);
        assert_eq!(
            resolve(&[]).unwrap(),
            names(&sorted_unique(defaults.clone()))
        );
        assert_eq!(resolve(&["max", "mean"]).unwrap(), ["max", "mean"]);
        assert!(resolve(&["mean", "+max", "-min"]).is_err());
        assert!(resolve(&["+max", "-max"]).is_err());
        assert!(resolve(&["-*"]).is_err());
        assert!(resolve(&["bogus"]).is_err());
    }

    #[test]
    fn definitions_follow_archive_policy_item_rules() {
        let d = Definition::new(Some(secs(7)), None, Some(secs(60))).unwrap();
        assert_eq!((d.points, d.timespan), (Some(8), Some(secs(56))));
        let d = Definition::new(None, Some(3), Some(secs(10))).unwrap();
        assert_eq!(d.granularity, Span::from_nanos(3_333_333_333));
        assert_eq!(d.timespan, Some(Span::from_nanos(9_999_999_999)));
        let d = Definition::new(Some(secs(60)), None, None).unwrap();
        assert_eq!((d.points, d.timespan), (None, None));
        assert_eq!(
            Definition::new(Some(secs(60)), None, Some(secs(30))),
            Err(PolicyError::NoPoints)
        );
        assert_eq!(
            Definition::new(Some(secs(60)), Some(10), Some(secs(30))),
            Err(PolicyError::TimespanMismatch)
        );
        assert_eq!(
            Definition::new(None, Some(10), None),
            Err(PolicyError::NotEnoughAttributes)
        );
        assert_eq!(
            Definition::new(Some(secs(0)), Some(10), None),
            Err(PolicyError::GranularityNotPositive)
        );
        assert_eq!(
            Definition::new(Some(secs(1)), Some(0), None),
            Err(PolicyError::PointsNotPositive)
        );
        assert_eq!(
            "granularity:1h,timespan:7s".parse::<Definition>(),
            Err(PolicyError::NoPoints)
        );
    }

    #[test]
    fn definition_specs_parse() {
        let d: Definition = "granularity:1m,timespan:1d".parse().unwrap();
        assert_eq!((d.granularity, d.points), (secs(60), Some(1440)));
        let d: Definition = "timespan:1h,points:1000".parse().unwrap();
        assert_eq!(d.granularity, Span::from_nanos(3_600_000_000));
        let d: Definition = "granularity:7s,timespan:1h".parse().unwrap();
        assert_eq!((d.points, d.timespan), (Some(514), Some(secs(3598))));
        assert!("granularity=1m".parse::<Definition>().is_err());
        assert!("granularity:1m,colour:red".parse::<Definition>().is_err());
    }

    #[test]
    fn policies_validate_granularities() {
        let item = Definition::new(Some(secs(60)), Some(10), None).unwrap();
        let err = ArchivePolicy::new("p", 0, vec![item, item], AggregationMethod::defaults())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "More than one archive policy uses granularity `60.0'"
        );
        assert_eq!(
            ArchivePolicy::new("p", 0, vec![], vec![]),
            Err(PolicyError::EmptyDefinition)
        );
    }

    #[test]
    fn default_policies_match_gnocchi_upgrade() {
        let defaults = ArchivePolicy::defaults();
        let by_name = |n: &str| defaults.iter().find(|p| p.name == n).unwrap();
        assert_eq!(by_name("bool").definition[0].points, Some(31_536_000));
        assert_eq!(by_name("bool").back_window, 3600);
        assert_eq!(by_name("low").definition[0].points, Some(8640));
        assert_eq!(by_name("medium").max_block_size(), secs(3600));
        assert_eq!(by_name("high").definition.len(), 3);
        assert_eq!(
            names(&by_name("high").aggregation_methods),
            ["count", "max", "mean", "min", "std", "sum"]
        );
    }

    #[test]
    fn rate_methods_keep_one_more_block() {
        let item = Definition::new(Some(secs(60)), Some(10), None).unwrap();
        let methods = vec!["rate:mean".parse().unwrap()];
        let policy = ArchivePolicy::new("p", 2, vec![item], methods).unwrap();
        assert_eq!(policy.effective_back_window(), 3);
    }

    #[test]
    fn updates_keep_granularities() {
        let policy = ArchivePolicy::defaults().remove(2);
        let longer = vec![
            Definition::new(Some(secs(60)), Some(20_000), None).unwrap(),
            Definition::new(Some(secs(3600)), Some(10), None).unwrap(),
        ];
        assert!(policy.check_update(&longer).is_ok());
        let changed = vec![
            Definition::new(Some(secs(30)), Some(20_000), None).unwrap(),
            Definition::new(Some(secs(3600)), Some(10), None).unwrap(),
        ];
        assert_eq!(
            policy.check_update(&changed).unwrap_err().to_string(),
            "Archive policy medium does not support change: 60.0 granularity interval was changed"
        );
        assert_eq!(
            policy.check_update(&longer[..1]).unwrap_err().to_string(),
            "Archive policy medium does not support change: Cannot add or drop granularities"
        );
    }

    #[test]
    fn fnmatch_is_pythons() {
        assert!(fnmatch("*", ""));
        assert!(fnmatch("disk.*", "disk.io.rate"));
        assert!(fnmatch("*", "a/b.c"));
        assert!(!fnmatch("disk.*", "Disk.io"));
        assert!(fnmatch("cpu?", "cpu0"));
        assert!(!fnmatch("cpu?", "cpu10"));
        assert!(fnmatch("cpu[0-3]", "cpu2"));
        assert!(!fnmatch("cpu[!0-3]", "cpu2"));
        assert!(fnmatch("cpu[!0-3]", "cpu7"));
        assert!(fnmatch("a[", "a["));
        assert!(fnmatch("[]]", "]"));
        assert!(fnmatch("*.rate", "disk.io.rate"));
        assert!(!fnmatch("*.rate", "disk.io.rates"));
        assert!(fnmatch("a*b*c", "aXbYbZc"));
    }

    #[test]
    fn rules_match_by_descending_pattern() {
        let rule = |name: &str, pattern: &str, policy: &str| ArchivePolicyRule {
            name: name.into(),
            metric_pattern: pattern.into(),
            archive_policy_name: policy.into(),
        };
        let rules = vec![
            rule("default", "*", "low"),
            rule("disk", "disk.*", "high"),
            rule("disk-io", "disk.io.*", "medium"),
        ];
        let found =
            |name: &str| ArchivePolicyRule::find_match(&rules, name).map(|r| r.name.as_str());
        assert_eq!(found("disk.io.rate"), Some("disk-io"));
        assert_eq!(found("disk.usage"), Some("disk"));
        assert_eq!(found("cpu"), Some("default"));
        assert_eq!(found(""), Some("default"));
        assert_eq!(ArchivePolicyRule::find_match(&rules[1..], "cpu"), None);
    }

    #[test]
    fn rules_that_can_never_match_are_found() {
        let rule = |name: &str, pattern: &str| ArchivePolicyRule {
            name: name.into(),
            metric_pattern: pattern.into(),
            archive_policy_name: "low".into(),
        };
        let existing = vec![
            rule("default", "*"),
            rule("disk", "disk.*"),
            rule("io", "disk.io"),
        ];
        let names = |new: &ArchivePolicyRule| {
            ArchivePolicyRule::shadows(&existing, new)
                .iter()
                .map(|s| (s.winner.name.clone(), s.loser.name.clone()))
                .collect::<Vec<_>>()
        };
        // Equal patterns: the first by name wins, either way round.
        assert_eq!(
            names(&rule("star", "*")),
            [("default".into(), "star".into())]
        );
        assert_eq!(names(&rule("all", "*")), [("all".into(), "default".into())]);
        // A literal name a pattern tried before it already takes
        // (`disk.*` sorts after `disk.` byte for byte, descending).
        assert_eq!(
            names(&rule("dot", "disk.")),
            [("disk".into(), "dot".into())]
        );
        assert!(names(&rule("usage", "disk.usage")).is_empty());
        // A pattern tried before a literal rule it matches hides it.
        assert_eq!(
            names(&rule("ios", "disk.io*")),
            [("ios".into(), "io".into())]
        );
        // Overlapping patterns that each still match something: nothing.
        assert!(names(&rule("cpu", "cpu.*")).is_empty());
        assert!(names(&rule("d", "d*")).is_empty());
        // Re-creating a rule by its own name compares with the others only.
        assert!(names(&rule("disk", "disk.*")).is_empty());
    }
}
