//! Membership of gnocchi-metricd's group, `gnocchi-processing`, through
//! tooz's Redis driver (`tooz/drivers/redis.py`, tooz 9.1.0), kept as tooz
//! keeps it so that carbonara workers and gnocchi-metricd workers see each
//! other and split a deployment's sacks among them
//! (docs/deployments.md#through-redis; what tooz sends is recorded in
//! tests/golden/coordination/tooz_redis_group.json):
//!
//! * a member's beat key `<namespace>_beats:<member id>` holds `Not dead!`
//!   for `membership_timeout` (by default `timeout`, 30 s), set by `PSETEX`
//!   on joining and re-armed by a heart thread every third of it (tooz's
//!   heart beats every half);
//! * the group is the hash `<namespace>_group:gnocchi-processing`: field
//!   `__created__` = `1`, then one field per member, its capabilities in
//!   msgpack (`{"weight": 1}`, as `join_partitioned_group` writes them); its
//!   name is in the set `<namespace>_groups`. Joining creates the group
//!   when it is missing, with tooz's own script (same text, same SHA-1);
//! * listing the members drops, from the hash, every other member whose beat
//!   key expired: that is how a dead worker leaves everybody's ring. A member
//!   never drops itself;
//! * leaving deletes the member's field, then its beat key. Each step is
//!   tooz's transaction (`WATCH` the group, `EXISTS`, `MULTI` … `EXEC`).
//!
//! The API: [`Membership::join`] with a member id (gnocchi-metricd's form
//! is [`metricd_member_id`]), [`Membership::members`],
//! [`Membership::sacks_of_self`] (the sacks gnocchi-metricd would give this
//! member, `super::partition`), and drop to leave; [`group_members`] for an
//! observer. Not here: watching for
//! members (metricd's `run_watchers`: call `members` again), and the
//! capabilities metricd rewrites with its statistics each pass.
//!
//! Blocking calls (the redis crate's synchronous client): not from a tokio
//! worker thread.

use redis::{Connection, Script, Value};

use super::super::Result;
use super::super::incoming::SackName;
use super::partition::sacks_to_process;
use super::redis::{Heart, Settings, millis};

/// gnocchi-metricd's group (`MetricProcessor.GROUP_ID`).
pub const GROUP: &str = "gnocchi-processing";
/// tooz's `STILL_ALIVE`, the value of a beat key.
const STILL_ALIVE: &str = "Not dead!";
/// tooz's `GROUP_EXISTS`, the field that keeps an empty group's hash.
const GROUP_EXISTS: &str = "__created__";
/// `{"weight": 1}` in msgpack, the capabilities
/// `join_partitioned_group` gives a member.
const WEIGHT_ONE: &[u8] = b"\x81\xa6weight\x01";

/// tooz's `create_group` script once its template is filled, to the byte.
const CREATE_GROUP: &str = r#"
-- Extract *all* the variables (so we can easily know what they are)...
local namespaced_group_key = KEYS[1]
local all_groups_key = KEYS[2]
local no_namespaced_group_key = ARGV[1]
if redis.call("exists", namespaced_group_key) == 1 then
    return 0
end
redis.call("sadd", all_groups_key, no_namespaced_group_key)
redis.call("hset", namespaced_group_key,
           "__created__", "1")
return 1
"#;

/// gnocchi-metricd's member id: `<hostname>.<worker id>.<uuid4>`, the uuid
/// keeping a restarted worker apart from the one it replaces.
pub fn metricd_member_id(hostname: &str, worker: u32) -> String {
    format!("{hostname}.{worker}.{}", uuid::Uuid::new_v4().hyphenated())
}

/// One member of `gnocchi-processing`, beating until dropped, which leaves
/// the group.
pub struct Membership {
    settings: Settings,
    member_id: String,
    connection: Connection,
    heart: Option<Heart>,
}

impl std::fmt::Debug for Membership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Membership")
            .field("settings", &self.settings)
            .field("member_id", &self.member_id)
            .finish_non_exhaustive()
    }
}

impl Membership {
    /// Beats, then joins the group (creating it if needed) as
    /// gnocchi-metricd does; an error if the member id is already in it.
    pub fn join(settings: &Settings, member_id: &str) -> Result<Membership> {
        let refused =
            |reason: &str| settings.failure(format!("member {member_id} of {GROUP}: {reason}"));
        if member_id == GROUP_EXISTS {
            return Err(refused("not a member id tooz allows"));
        }
        let mut connection = settings.connect()?;
        let beat = settings.beat_key(member_id);
        let ttl = millis(settings.membership_timeout);
        // tooz beats when it starts, before any group.
        psetex(&beat, ttl)
            .exec(&mut connection)
            .map_err(|e| settings.error(&e))?;
        let joined = add_member(settings, &mut connection, member_id);
        if !joined.map_err(|e| settings.error(&e))? {
            return Err(refused("already in the group"));
        }
        let heart = Heart::start(settings, settings.membership_timeout / 3, move |c| {
            psetex(&beat, ttl).exec(c)
        });
        Ok(Membership {
            settings: settings.clone(),
            member_id: member_id.to_owned(),
            connection,
            heart: Some(heart),
        })
    }

    /// This member's id.
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// The group's members, sorted, as tooz's `get_members` gives them:
    /// every other member whose beat key expired is dropped from the group
    /// first. Empty when the group does not exist.
    ///
    /// After a lost connection it connects again; and a member the group
    /// lost (a Redis restarted without its data) joins again, as tooz's
    /// heart re-arms only the beat key.
    pub fn members(&mut self) -> Result<Vec<String>> {
        let Membership {
            settings,
            member_id,
            connection,
            ..
        } = self;
        let mut listed = list_members(settings, connection, Some(member_id));
        if listed.is_err() {
            *connection = settings.connect()?;
            listed = list_members(settings, connection, Some(member_id));
        }
        let listed = listed?;
        if listed.contains(member_id) {
            return Ok(listed);
        }
        add_member(settings, connection, member_id).map_err(|e| settings.error(&e))?;
        list_members(settings, connection, Some(member_id))
    }

    /// The sacks gnocchi-metricd would have this member process, of
    /// `total_sacks`, among the group's members now, each sack shared by
    /// `processing_replicas` members (`super::partition`).
    pub fn sacks_of_self(
        &mut self,
        total_sacks: u32,
        processing_replicas: u32,
    ) -> Result<Vec<SackName>> {
        let members = self.members()?;
        Ok(sacks_to_process(
            &members,
            &self.member_id,
            total_sacks,
            processing_replicas,
        ))
    }
}

/// Adds `member_id` to the group, creating the group when it is missing,
/// as tooz's `join_group_create` does: false when it was there already.
fn add_member(
    settings: &Settings,
    connection: &mut Connection,
    member_id: &str,
) -> redis::RedisResult<bool> {
    let group = settings.group_key(GROUP);
    let hset = redis::cmd("HSET")
        .arg(&group)
        .arg(member_id)
        .arg(WEIGHT_ONE)
        .clone();
    loop {
        match transaction(connection, &group, |_| Ok(vec![hset.clone()]))? {
            Some(added) => return Ok(added.first() == Some(&Value::Int(1))),
            // tooz's `create_group`, whose 0 (created meanwhile) is as good
            // as 1.
            None => Script::new(CREATE_GROUP)
                .key(&group)
                .key(settings.groups_key())
                .arg(GROUP)
                .invoke::<i64>(connection)
                .map(drop)?,
        }
    }
}

/// The group's members, sorted, as an observer that is not one of them
/// sees them (`status`): members whose beat expired are dropped first, as
/// tooz's `get_members` drops them.
pub fn group_members(settings: &Settings) -> Result<Vec<String>> {
    let mut connection = settings.connect()?;
    list_members(settings, &mut connection, None)
}

/// tooz's `get_members` on `connection`: the members, sorted, once every
/// one but `own` whose beat key expired is dropped from the group.
fn list_members(
    settings: &Settings,
    connection: &mut Connection,
    own: Option<&str>,
) -> Result<Vec<String>> {
    let group = settings.group_key(GROUP);
    let mut listed = Vec::new();
    let done = transaction(connection, &group, |connection| {
        let fields: Vec<String> = redis::cmd("HKEYS").arg(&group).query(connection)?;
        listed = fields.into_iter().filter(|m| m != GROUP_EXISTS).collect();
        if listed.is_empty() {
            return Ok(vec![]);
        }
        let beats: Vec<String> = listed.iter().map(|m| settings.beat_key(m)).collect();
        let alive: Vec<Option<String>> = redis::cmd("MGET").arg(&beats).query(connection)?;
        let gone: Vec<String> = listed
            .iter()
            .zip(alive)
            .filter(|(member, beat)| beat.is_none() && Some(member.as_str()) != own)
            .map(|(member, _)| member.clone())
            .collect();
        listed.retain(|member| !gone.contains(member));
        Ok(if gone.is_empty() {
            vec![]
        } else {
            vec![redis::cmd("HDEL").arg(&group).arg(&gone).clone()]
        })
    })
    .map_err(|e| settings.error(&e))?;
    if done.is_none() {
        return Ok(Vec::new());
    }
    listed.sort_unstable();
    Ok(listed)
}

/// redis-py's `transaction` as tooz runs it on a group: `WATCH`, `EXISTS`
/// (none: `UNWATCH`, `None`), the reads of `prepare`, then `MULTI`, the
/// commands it returns, `EXEC`; all again when another client changed the
/// group meanwhile. The replies of the commands.
fn transaction(
    connection: &mut Connection,
    group: &str,
    mut prepare: impl FnMut(&mut Connection) -> redis::RedisResult<Vec<redis::Cmd>>,
) -> redis::RedisResult<Option<Vec<Value>>> {
    loop {
        redis::cmd("WATCH").arg(group).exec(connection)?;
        if !redis::cmd("EXISTS").arg(group).query::<bool>(connection)? {
            redis::cmd("UNWATCH").exec(connection)?;
            return Ok(None);
        }
        let commands = prepare(connection)?;
        redis::cmd("MULTI").exec(connection)?;
        for command in &commands {
            command.exec(connection)?;
        }
        if let Some(replies) = redis::cmd("EXEC").query::<Option<Vec<Value>>>(connection)? {
            return Ok(Some(replies));
        }
    }
}

/// `PSETEX <beat key> <ms> "Not dead!"`.
fn psetex(key: &str, ttl_ms: u64) -> redis::Cmd {
    redis::cmd("PSETEX")
        .arg(key)
        .arg(ttl_ms)
        .arg(STILL_ALIVE)
        .clone()
}

impl Drop for Membership {
    fn drop(&mut self) {
        if let Some(heart) = self.heart.take() {
            heart.stop();
        }
        // A field or key left behind is dropped by the next member that
        // lists the group once the beat expires.
        let group = self.settings.group_key(GROUP);
        let hdel = redis::cmd("HDEL").arg(&group).arg(&self.member_id).clone();
        if transaction(&mut self.connection, &group, |_| Ok(vec![hdel.clone()])).is_ok() {
            let _ = redis::cmd("DEL")
                .arg(self.settings.beat_key(&self.member_id))
                .exec(&mut self.connection);
        }
    }
}
