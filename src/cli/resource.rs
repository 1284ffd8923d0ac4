//! `carbonara resource`: gnocchiclient's resource commands (create, list,
//! show, update, history, search, delete, batch delete) on `generic` and
//! created types. Ids are mapped like Gnocchi's (uuid5 with the creator).

use clap::Subcommand;

use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::ops::resource::{self as ops, ResourceSearch};
use crate::ops::{self as ops_error};
use crate::pyform::document::{self, Shape};
use crate::pyform::json::Json;
use crate::resource::{self, AttributeValue, GENERIC, Resource, ResourceError, ResourceType};
use crate::store::{Index, MetricRef, NewResource, ResourceChanges};
use crate::time::Timestamp;

use super::output::Record;
use super::words;
use super::{Ctx, OutputArgs, PageArgs, timestamp_arg};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

/// The base fields and attributes given to `create` and `update`.
#[derive(Debug, clap::Args)]
struct Fields {
    /// Type of the resource
    #[arg(short = 't', long = "type", default_value = GENERIC, value_name = "TYPE")]
    resource_type: String,
    /// NAME:VALUE of an attribute of the type (or of user_id, project_id, started_at, ended_at); repeat for more
    #[arg(short = 'a', long = "attribute", value_name = "NAME:VALUE")]
    attributes: Vec<String>,
    /// NAME:ID of an existing metric to attach; repeat for more
    #[arg(short = 'm', long = "add-metric", value_name = "NAME:ID")]
    add_metrics: Vec<String>,
    /// NAME[:POLICY] of a metric to create (policy from the archive-policy rules if absent); repeat for more
    #[arg(short = 'n', long = "create-metric", value_name = "NAME[:POLICY]")]
    create_metrics: Vec<String>,
    /// Id of the user the resource belongs to
    #[arg(long, value_name = "ID")]
    user_id: Option<String>,
    /// Id of the project the resource belongs to
    #[arg(long, value_name = "ID")]
    project_id: Option<String>,
    /// When the resource started (default: now)
    #[arg(long, value_name = "TIMESTAMP", allow_hyphen_values = true)]
    started_at: Option<String>,
    /// When the resource ended
    #[arg(long, value_name = "TIMESTAMP", allow_hyphen_values = true)]
    ended_at: Option<String>,
}

#[derive(Debug, clap::Args)]
struct Listing {
    /// Type of the resources
    #[arg(short = 't', long = "type", default_value = GENERIC, value_name = "TYPE")]
    resource_type: String,
    /// Show the attributes of each resource's own type in a `generic` listing
    #[arg(long)]
    details: bool,
    #[command(flatten)]
    page: PageArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a resource
    Create {
        /// Id of the resource: a UUID, or any text (mapped to a UUID like Gnocchi does)
        resource_id: String,
        #[command(flatten)]
        fields: Fields,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Change a resource (a new revision when a value changes)
    Update {
        /// Id of the resource
        resource_id: String,
        #[command(flatten)]
        fields: Fields,
        /// Name of a metric to detach; repeat for more
        #[arg(short = 'd', long = "delete-metric", value_name = "NAME")]
        delete_metrics: Vec<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show a resource
    Show {
        /// Type of the resource (`generic` shows the base fields only)
        #[arg(short = 't', long = "type", default_value = GENERIC, value_name = "TYPE")]
        resource_type: String,
        /// Id of the resource
        resource_id: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List resources
    List {
        #[command(flatten)]
        listing: Listing,
        /// Every revision of each resource
        #[arg(long)]
        history: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List the revisions of a resource
    History {
        #[command(flatten)]
        listing: Listing,
        /// Id of the resource
        resource_id: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Search resources with Gnocchi's filter syntax, as a string (`host='a' and (cpu>=2 or flavor like 'm1.%')`) or JSON (`{"=": {"host": "a"}}`)
    Search {
        #[command(flatten)]
        listing: Listing,
        /// Search past revisions too
        #[arg(long)]
        history: bool,
        /// The filter [default: every resource]
        query: Option<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Delete a resource; its metrics' data goes at the next `process`
    Delete {
        /// Id of the resource
        resource_id: String,
    },
    /// Delete many resources
    Batch {
        #[command(subcommand)]
        command: BatchCommand,
    },
}

#[derive(Debug, Subcommand)]
enum BatchCommand {
    /// Delete the resources matching a filter
    Delete {
        /// Type of the resources
        #[arg(short = 't', long = "type", default_value = GENERIC, value_name = "TYPE")]
        resource_type: String,
        /// The filter, as for `resource search`; it cannot be empty
        query: String,
        #[command(flatten)]
        output: OutputArgs,
    },
}

/// What `-a`, `-m`, `-n` and the field flags say, in the index's terms.
struct Given {
    user_id: Option<String>,
    project_id: Option<String>,
    started_at: Option<Timestamp>,
    ended_at: Option<Timestamp>,
    attributes: Vec<(String, AttributeValue)>,
    metrics: Vec<(String, MetricRef)>,
}

fn invalid(reason: &str, field: &str) -> Error {
    ResourceError::InvalidInput(format!("{reason} @ data['{field}']")).into()
}

fn read_fields(fields: &Fields, resource_type: &ResourceType, ctx: &Ctx) -> Result<Given> {
    let mut given = Given {
        user_id: fields.user_id.clone(),
        project_id: fields.project_id.clone(),
        started_at: None,
        ended_at: None,
        attributes: Vec::new(),
        metrics: Vec::new(),
    };
    let mut started_at = fields.started_at.clone();
    let mut ended_at = fields.ended_at.clone();
    for pair in &fields.attributes {
        let (name, value) = pair.split_once(':').unwrap_or((pair, ""));
        match name {
            "user_id" => given.user_id = Some(value.to_owned()),
            "project_id" => given.project_id = Some(value.to_owned()),
            "started_at" => started_at = Some(value.to_owned()),
            "ended_at" => ended_at = Some(value.to_owned()),
            _ => {
                let attribute = resource_type
                    .attribute(name)
                    .ok_or_else(|| invalid("extra keys not allowed", name))?;
                let value = attribute
                    .parse_value(value, ctx.now)
                    .map_err(|e| invalid(&format!("{} for dictionary value", e.reason()), name))?;
                given.attributes.retain(|(n, _)| n != name);
                given.attributes.push((name.to_owned(), value));
            }
        }
    }
    given.started_at = started_at
        .map(|t| timestamp_arg("started-at", &t, ctx.now))
        .transpose()?;
    given.ended_at = ended_at
        .map(|t| timestamp_arg("ended-at", &t, ctx.now))
        .transpose()?;
    for pair in &fields.add_metrics {
        let (name, id) = pair.split_once(':').unwrap_or((pair, ""));
        let id = resource::parse_python_uuid(id).ok_or_else(|| {
            Error::Usage(format!(
                "--add-metric `{pair}`: `{id}` is not a metric id (NAME:ID)"
            ))
        })?;
        given
            .metrics
            .push((name.to_owned(), MetricRef::Existing(id)));
    }
    for pair in &fields.create_metrics {
        let (name, policy) = pair.split_once(':').unwrap_or((pair, ""));
        given.metrics.push((
            name.to_owned(),
            MetricRef::Create {
                archive_policy_name: (!policy.is_empty()).then(|| policy.to_owned()),
                unit: None,
            },
        ));
    }
    Ok(given)
}

/// gnocchiclient's show: the document, metrics as `name: id` lines in a table.
fn print_resource(resource: &Resource, ctx: &Ctx) -> Result<()> {
    let document = document::resource_fields(resource, Shape::Current);
    let fields = document
        .iter()
        .map(|(key, value)| {
            let value = if key == "metrics" {
                metrics_cell(resource)
            } else {
                value.clone()
            };
            (key.clone(), value)
        })
        .collect::<Vec<_>>();
    ctx.print(&Record::show(fields).with_documents(vec![Json::Object(document)]))
}

fn metrics_cell(resource: &Resource) -> Json {
    let mut lines: Vec<String> = resource
        .metrics
        .iter()
        .map(|(name, id)| format!("{name}: {id}"))
        .collect();
    lines.sort();
    Json::str(lines.join("\n"))
}

/// gnocchiclient's resource list columns: its fixed ones, then the other
/// keys of the documents (`creator`, the attributes), no `created_by_*`;
/// metrics only in a history table.
fn print_list(resources: &[Resource], shape: Shape, with_metrics: bool, ctx: &Ctx) -> Result<()> {
    let documents: Vec<Vec<(String, Json)>> = resources
        .iter()
        .map(|r| document::resource_fields(r, shape))
        .collect();
    let mut columns: Vec<String> = [
        "id",
        "type",
        "project_id",
        "user_id",
        "original_resource_id",
        "started_at",
        "ended_at",
        "revision_start",
        "revision_end",
    ]
    .iter()
    .map(|c| (*c).to_owned())
    .collect();
    for document in &documents {
        for (key, _) in document {
            let hidden = key.starts_with("created_by_") || (key == "metrics" && !with_metrics);
            if !hidden && !columns.contains(key) {
                columns.push(key.clone());
            }
        }
    }
    let rows = resources
        .iter()
        .zip(&documents)
        .map(|(resource, document)| {
            columns
                .iter()
                .map(|column| match column.as_str() {
                    "metrics" => metrics_cell(resource),
                    _ => document
                        .iter()
                        .find(|(k, _)| k == column)
                        .map_or(Json::Null, |(_, v)| v.clone()),
                })
                .collect()
        })
        .collect();
    let documents = documents.into_iter().map(Json::Object).collect();
    ctx.print(&Record::list(columns, rows).with_documents(documents))
}

/// The resources of a listing that match `filter`, as `list` and `search`
/// print them.
fn print_found(
    index: &Index,
    listing: Listing,
    filter: Option<Filter>,
    history: bool,
    ctx: &Ctx,
) -> Result<()> {
    let search = ResourceSearch {
        type_name: listing.resource_type,
        filter,
        history,
        details: listing.details,
        page: listing.page.page(),
    };
    let resources = ops::search(index, &search, ctx.now)?;
    let shape = if history {
        Shape::History
    } else {
        Shape::Current
    };
    print_list(&resources, shape, false, ctx)
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    match args.command {
        Command::Create {
            resource_id,
            fields,
            output,
        } => create(resource_id, &fields, &ctx.printing(output)),
        Command::Update {
            resource_id,
            fields,
            delete_metrics,
            output,
        } => update(
            &resource_id,
            &fields,
            &delete_metrics,
            &ctx.printing(output),
        ),
        Command::Show {
            resource_type,
            resource_id,
            output,
        } => show(&resource_type, &resource_id, &ctx.printing(output)),
        Command::List {
            listing,
            history,
            output,
        } => list(listing, history, &ctx.printing(output)),
        Command::History {
            listing,
            resource_id,
            output,
        } => history(listing, &resource_id, &ctx.printing(output)),
        Command::Search {
            listing,
            history,
            query,
            output,
        } => search(listing, history, query.as_deref(), &ctx.printing(output)),
        Command::Delete { resource_id } => delete(&resource_id, ctx),
        Command::Batch {
            command:
                BatchCommand::Delete {
                    resource_type,
                    query,
                    output,
                },
        } => batch_delete(&resource_type, &query, &ctx.printing(output)),
    }
}

fn create(given_id: String, fields: &Fields, ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    let resource_type = index.get_resource_type(&fields.resource_type)?;
    let given = read_fields(fields, &resource_type, ctx)?;
    let new = NewResource {
        id: ctx.resource_id(&given_id)?,
        original_resource_id: given_id,
        type_name: resource_type.name.clone(),
        creator: ctx.creator.clone(),
        user_id: given.user_id,
        project_id: given.project_id,
        started_at: given.started_at,
        ended_at: given.ended_at,
        attributes: given.attributes,
        metrics: given.metrics,
    };
    let resource = ops::create(&index, &resource_type, &new, ctx.now)?;
    print_resource(&resource, ctx)
}

fn update(given_id: &str, fields: &Fields, delete_metrics: &[String], ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    let id = ctx.resource_id(given_id)?;
    let resource_type = index.get_resource_type(&fields.resource_type)?;
    let given = read_fields(fields, &resource_type, ctx)?;
    // gnocchiclient sends the whole metrics map when metrics change.
    let metrics = if given.metrics.is_empty() && delete_metrics.is_empty() {
        None
    } else {
        let current =
            ops::get(&index, &resource_type.name, id).map_err(words::resource(given_id))?;
        let mut metrics: Vec<(String, MetricRef)> = current
            .metrics
            .iter()
            .map(|(name, id)| (name.clone(), MetricRef::Existing(*id)))
            .collect();
        for name in delete_metrics {
            let position = metrics
                .iter()
                .position(|(n, _)| n == name)
                .ok_or_else(|| ops_error::Error::NoSuchMetricName(name.clone()))?;
            metrics.remove(position);
        }
        for (name, reference) in given.metrics {
            metrics.retain(|(n, _)| *n != name);
            metrics.push((name, reference));
        }
        Some(metrics)
    };
    let changes = ResourceChanges {
        user_id: given.user_id.map(Some),
        project_id: given.project_id.map(Some),
        started_at: given.started_at,
        ended_at: given.ended_at.map(Some),
        attributes: given.attributes,
        metrics,
    };
    let resource = index
        .update_resource(&resource_type.name, id, &changes, ctx.now)
        .map_err(|e| words::resource(given_id)(e.into()))?;
    print_resource(&resource, ctx)
}

fn show(resource_type: &str, given_id: &str, ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    // Named as given: the mapped UUID would not help the user.
    let resource = ops::get(&index, resource_type, ctx.resource_id(given_id)?)
        .map_err(words::resource(given_id))?;
    print_resource(&resource, ctx)
}

fn list(listing: Listing, history: bool, ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    print_found(&index, listing, None, history, ctx)
}

fn history(listing: Listing, given_id: &str, ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    let resources = ops::history(
        &index,
        &listing.resource_type,
        ctx.resource_id(given_id)?,
        listing.details,
        listing.page.page(),
        ctx.now,
    )
    .map_err(words::resource(given_id))?;
    print_list(&resources, Shape::History, true, ctx)
}

fn search(listing: Listing, history: bool, query: Option<&str>, ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    let filter = match query {
        Some(text) => words::filter(text, &ctx.creator)?,
        None => None,
    };
    print_found(&index, listing, filter, history, ctx)
}

fn delete(given_id: &str, ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    let id = ctx.resource_id(given_id)?;
    index
        .delete_resource(id)
        .map_err(|e| words::resource(given_id)(e.into()))?;
    ctx.note(&format!("deleted resource {id}"));
    Ok(())
}

fn batch_delete(resource_type: &str, query: &str, ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    let filter = words::filter(query, &ctx.creator)?;
    let deleted = ops::batch_delete(&index, resource_type, filter.as_ref(), ctx.now)?;
    let document = Json::object([("deleted", Json::Int(deleted as i64))]);
    ctx.print(
        &Record::show([("deleted", Json::Int(deleted as i64))]).with_documents(vec![document]),
    )
}

#[cfg(test)]
mod tests {
    use super::super::output::text;
    use super::*;
    use uuid::Uuid;

    #[test]
    fn metrics_cells_are_sorted_lines() {
        let resource = Resource {
            id: Uuid::nil(),
            type_name: GENERIC.to_owned(),
            original_resource_id: "x".to_owned(),
            creator: "admin".to_owned(),
            user_id: None,
            project_id: None,
            started_at: Timestamp::EPOCH,
            ended_at: None,
            revision: -1,
            revision_start: Timestamp::EPOCH,
            revision_end: None,
            attributes: None,
            metrics: vec![("mem".into(), Uuid::nil()), ("cpu".into(), Uuid::max())],
        };
        assert_eq!(
            text(&metrics_cell(&resource)),
            "cpu: ffffffff-ffff-ffff-ffff-ffffffffffff\nmem: 00000000-0000-0000-0000-000000000000"
        );
    }
}
