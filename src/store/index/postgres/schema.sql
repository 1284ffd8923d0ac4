-- Gnocchi 4.7.1's indexer schema on PostgreSQL, alembic revision
-- f89ed2e3c2ec: what `gnocchi-upgrade` creates on an empty database
-- (`Base.metadata.create_all()` of gnocchi/indexer/sqlalchemy_base.py).
-- Names, column order, types, defaults and constraint names are Gnocchi's:
-- tests/it/gnocchi_schema.rs compares pg_dump of the result with
-- tests/golden/gnocchi-schema/schema.sql, dumped from the real thing.
-- Unqualified names, as Gnocchi's: the first schema of the search path.

CREATE TYPE metric_status_enum AS ENUM ('active', 'delete');

CREATE TYPE resource_type_state_enum AS ENUM (
    'active', 'creating', 'creation_error', 'deleting', 'deletion_error',
    'updating', 'updating_error'
);

CREATE TABLE alembic_version (
    version_num varchar(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

CREATE TABLE archive_policy (
    name varchar(255) NOT NULL,
    back_window integer NOT NULL,
    definition json NOT NULL,
    aggregation_methods json NOT NULL,
    CONSTRAINT archive_policy_pkey PRIMARY KEY (name)
);

CREATE TABLE archive_policy_rule (
    name varchar(255) NOT NULL,
    archive_policy_name varchar(255) NOT NULL,
    metric_pattern varchar(255) NOT NULL,
    CONSTRAINT archive_policy_rule_pkey PRIMARY KEY (name),
    CONSTRAINT fk_apr_ap_name_ap_name FOREIGN KEY (archive_policy_name)
        REFERENCES archive_policy (name) ON DELETE RESTRICT
);

CREATE TABLE resource_type (
    name varchar(255) NOT NULL,
    tablename varchar(35) NOT NULL,
    attributes json,
    state resource_type_state_enum DEFAULT 'creating' NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    CONSTRAINT resource_type_pkey PRIMARY KEY (name),
    CONSTRAINT uniq_resource_type0tablename UNIQUE (tablename)
);

CREATE TABLE resource (
    id uuid NOT NULL,
    creator varchar(255),
    started_at timestamp without time zone NOT NULL,
    revision_start timestamp without time zone NOT NULL,
    ended_at timestamp without time zone,
    user_id varchar(255),
    project_id varchar(255),
    original_resource_id varchar(289) NOT NULL,
    type varchar(255) NOT NULL,
    CONSTRAINT resource_pkey PRIMARY KEY (id),
    CONSTRAINT ck_resource_started_before_ended CHECK (started_at <= ended_at),
    CONSTRAINT fk_resource_resource_type_name FOREIGN KEY (type)
        REFERENCES resource_type (name) ON DELETE RESTRICT
);

CREATE TABLE resource_history (
    revision serial NOT NULL,
    id uuid NOT NULL,
    revision_end timestamp without time zone NOT NULL,
    creator varchar(255),
    started_at timestamp without time zone NOT NULL,
    revision_start timestamp without time zone NOT NULL,
    ended_at timestamp without time zone,
    user_id varchar(255),
    project_id varchar(255),
    original_resource_id varchar(289) NOT NULL,
    type varchar(255) NOT NULL,
    CONSTRAINT resource_history_pkey PRIMARY KEY (revision),
    CONSTRAINT ck_resource_history_started_before_ended CHECK (started_at <= ended_at),
    CONSTRAINT fk_rh_id_resource_id FOREIGN KEY (id)
        REFERENCES resource (id) ON DELETE CASCADE,
    CONSTRAINT fk_resource_history_resource_type_name FOREIGN KEY (type)
        REFERENCES resource_type (name) ON DELETE RESTRICT
);

CREATE TABLE metric (
    id uuid NOT NULL,
    archive_policy_name varchar(255) NOT NULL,
    creator varchar(255),
    resource_id uuid,
    name varchar(255),
    unit varchar(31),
    status metric_status_enum DEFAULT 'active' NOT NULL,
    needs_raw_data_truncation boolean DEFAULT true NOT NULL,
    last_measure_timestamp timestamp without time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    CONSTRAINT metric_pkey PRIMARY KEY (id),
    CONSTRAINT uniq_metric0resource_id0name UNIQUE (resource_id, name),
    CONSTRAINT fk_metric_ap_name_ap_name FOREIGN KEY (archive_policy_name)
        REFERENCES archive_policy (name) ON DELETE RESTRICT,
    CONSTRAINT fk_metric_resource_id_resource_id FOREIGN KEY (resource_id)
        REFERENCES resource (id) ON DELETE SET NULL
);

CREATE INDEX ix_metric_status ON metric USING btree (status);
