//! `carbonara resource-type`: gnocchiclient's resource-type commands, with
//! Gnocchi's rules for types that already have resources.

use clap::Subcommand;

use crate::error::Result;
use crate::ops::resource_type as ops;
use crate::pyform::document;
use crate::pyform::json::Json;
use crate::resource::{AttributeSpec, PatchOp, ResourceType};

use super::output::{Record, text};
use super::{Ctx, OutputArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a resource type
    Create {
        /// Name of the resource type
        name: String,
        /// An attribute: NAME:TYPE[:REQUIRED][:OPTION=VALUE…], e.g. `display_name:string:true:max_length=255`; TYPE is string, uuid, number, bool or datetime; options min_length, max_length (string), min, max (number); REQUIRED defaults to true; repeat for more
        #[arg(short = 'a', long = "attribute", value_name = "ATTRIBUTE")]
        attributes: Vec<AttributeSpec>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List the resource types
    List {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show a resource type
    Show {
        /// Name of the resource type
        name: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Add, change or remove attributes of a resource type
    Update {
        /// Name of the resource type
        name: String,
        /// An attribute to add, or to redefine (same type; `required` or bounds change), as for create; existing resources get the `fill=VALUE` option's value, which a required attribute needs; repeat for more
        #[arg(short = 'a', long = "attribute", value_name = "ATTRIBUTE")]
        attributes: Vec<AttributeSpec>,
        /// An attribute to remove, with its values; repeat for more
        #[arg(short = 'r', long = "remove-attribute", value_name = "NAME")]
        remove: Vec<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Delete a resource type no resource uses
    Delete {
        /// Name of the resource type
        name: String,
    },
}

/// gnocchiclient's show: `attributes/NAME` rows of `key=value` pairs.
fn record(resource_type: &ResourceType) -> Record {
    let mut fields = vec![
        ("name".to_owned(), Json::str(&resource_type.name)),
        ("state".to_owned(), Json::str(&resource_type.state)),
    ];
    for attribute in &resource_type.attributes {
        let Json::Object(mut options) = attribute.to_json() else {
            continue;
        };
        options.sort_by(|a, b| a.0.cmp(&b.0));
        let summary = options
            .iter()
            .map(|(k, v)| format!("{k}={}", text(v)))
            .collect::<Vec<_>>()
            .join(", ");
        fields.push((format!("attributes/{}", attribute.name), Json::str(summary)));
    }
    Record::show(fields).with_documents(vec![document::resource_type(resource_type)])
}

/// gnocchiclient's list cell: `- NAME: key: value , key: value` lines.
fn attributes_cell(resource_type: &ResourceType) -> Json {
    let lines: Vec<String> = resource_type
        .attributes
        .iter()
        .map(|attribute| {
            let Json::Object(options) = attribute.to_json() else {
                return String::new();
            };
            let pairs: Vec<String> = options
                .iter()
                .map(|(k, v)| format!("{k}: {}", text(v)))
                .collect();
            format!("- {}: {}", attribute.name, pairs.join(" , "))
        })
        .collect();
    Json::str(lines.join("\n"))
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    match args.command {
        Command::Create {
            name,
            attributes,
            output,
        } => create(&name, &attributes, &ctx.printing(output)),
        Command::List { output } => list(&ctx.printing(output)),
        Command::Show { name, output } => show(&name, &ctx.printing(output)),
        Command::Update {
            name,
            attributes,
            remove,
            output,
        } => update(&name, attributes, remove, &ctx.printing(output)),
        Command::Delete { name } => delete(&name, ctx),
    }
}

fn create(name: &str, attributes: &[AttributeSpec], ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    let mut defined: Vec<crate::resource::Attribute> = Vec::new();
    for spec in attributes {
        let attribute = spec.to_attribute(false, ctx.now)?;
        // Later definitions of a name win, in the first one's place.
        match defined.iter_mut().find(|a| a.name == attribute.name) {
            Some(existing) => *existing = attribute,
            None => defined.push(attribute),
        }
    }
    ctx.print(&record(&ops::create(&index, name, defined)?))
}

fn list(ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    let types = index.list_resource_types()?;
    let rows = types
        .iter()
        .map(|t| vec![Json::str(&t.name), attributes_cell(t)])
        .collect();
    let documents = types.iter().map(document::resource_type).collect();
    ctx.print(&Record::list(["name", "attributes"], rows).with_documents(documents))
}

fn show(name: &str, ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    ctx.print(&record(&index.get_resource_type(name)?))
}

fn update(
    name: &str,
    attributes: Vec<AttributeSpec>,
    remove: Vec<String>,
    ctx: &Ctx,
) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    // gnocchiclient sends the additions first, then the removals.
    let patch: Vec<PatchOp> = attributes
        .into_iter()
        .map(PatchOp::Add)
        .chain(remove.into_iter().map(PatchOp::Remove))
        .collect();
    ctx.print(&record(&ops::update(&index, name, &patch, ctx.now)?))
}

fn delete(name: &str, ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    index.delete_resource_type(name)?;
    ctx.note(&format!("deleted resource type {name}"));
    Ok(())
}
