--
-- PostgreSQL database dump
--

\restrict gnocchi

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: metric_status_enum; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.metric_status_enum AS ENUM (
    'active',
    'delete'
);


--
-- Name: resource_type_state_enum; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.resource_type_state_enum AS ENUM (
    'active',
    'creating',
    'creation_error',
    'deleting',
    'deletion_error',
    'updating',
    'updating_error'
);


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: alembic_version; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.alembic_version (
    version_num character varying(32) NOT NULL
);


--
-- Name: archive_policy; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.archive_policy (
    name character varying(255) NOT NULL,
    back_window integer NOT NULL,
    definition json NOT NULL,
    aggregation_methods json NOT NULL
);


--
-- Name: archive_policy_rule; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.archive_policy_rule (
    name character varying(255) NOT NULL,
    archive_policy_name character varying(255) NOT NULL,
    metric_pattern character varying(255) NOT NULL
);


--
-- Name: metric; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.metric (
    id uuid NOT NULL,
    archive_policy_name character varying(255) NOT NULL,
    creator character varying(255),
    resource_id uuid,
    name character varying(255),
    unit character varying(31),
    status public.metric_status_enum DEFAULT 'active'::public.metric_status_enum NOT NULL,
    needs_raw_data_truncation boolean DEFAULT true NOT NULL,
    last_measure_timestamp timestamp without time zone DEFAULT CURRENT_TIMESTAMP NOT NULL
);


--
-- Name: resource; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.resource (
    id uuid NOT NULL,
    creator character varying(255),
    started_at timestamp without time zone NOT NULL,
    revision_start timestamp without time zone NOT NULL,
    ended_at timestamp without time zone,
    user_id character varying(255),
    project_id character varying(255),
    original_resource_id character varying(289) NOT NULL,
    type character varying(255) NOT NULL,
    CONSTRAINT ck_resource_started_before_ended CHECK ((started_at <= ended_at))
);


--
-- Name: resource_history; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.resource_history (
    revision integer NOT NULL,
    id uuid NOT NULL,
    revision_end timestamp without time zone NOT NULL,
    creator character varying(255),
    started_at timestamp without time zone NOT NULL,
    revision_start timestamp without time zone NOT NULL,
    ended_at timestamp without time zone,
    user_id character varying(255),
    project_id character varying(255),
    original_resource_id character varying(289) NOT NULL,
    type character varying(255) NOT NULL,
    CONSTRAINT ck_resource_history_started_before_ended CHECK ((started_at <= ended_at))
);


--
-- Name: resource_history_revision_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.resource_history_revision_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: resource_history_revision_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.resource_history_revision_seq OWNED BY public.resource_history.revision;


--
-- Name: resource_type; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.resource_type (
    name character varying(255) NOT NULL,
    tablename character varying(35) NOT NULL,
    attributes json,
    state public.resource_type_state_enum DEFAULT 'creating'::public.resource_type_state_enum NOT NULL,
    updated_at timestamp without time zone NOT NULL
);


--
-- Name: resource_history revision; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.resource_history ALTER COLUMN revision SET DEFAULT nextval('public.resource_history_revision_seq'::regclass);


--
-- Name: alembic_version alembic_version_pkc; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alembic_version
    ADD CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num);


--
-- Name: archive_policy archive_policy_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.archive_policy
    ADD CONSTRAINT archive_policy_pkey PRIMARY KEY (name);


--
-- Name: archive_policy_rule archive_policy_rule_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.archive_policy_rule
    ADD CONSTRAINT archive_policy_rule_pkey PRIMARY KEY (name);


--
-- Name: metric metric_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.metric
    ADD CONSTRAINT metric_pkey PRIMARY KEY (id);


--
-- Name: resource_history resource_history_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.resource_history
    ADD CONSTRAINT resource_history_pkey PRIMARY KEY (revision);


--
-- Name: resource resource_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.resource
    ADD CONSTRAINT resource_pkey PRIMARY KEY (id);


--
-- Name: resource_type resource_type_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.resource_type
    ADD CONSTRAINT resource_type_pkey PRIMARY KEY (name);


--
-- Name: metric uniq_metric0resource_id0name; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.metric
    ADD CONSTRAINT uniq_metric0resource_id0name UNIQUE (resource_id, name);


--
-- Name: resource_type uniq_resource_type0tablename; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.resource_type
    ADD CONSTRAINT uniq_resource_type0tablename UNIQUE (tablename);


--
-- Name: ix_metric_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_metric_status ON public.metric USING btree (status);


--
-- Name: archive_policy_rule fk_apr_ap_name_ap_name; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.archive_policy_rule
    ADD CONSTRAINT fk_apr_ap_name_ap_name FOREIGN KEY (archive_policy_name) REFERENCES public.archive_policy(name) ON DELETE RESTRICT;


--
-- Name: metric fk_metric_ap_name_ap_name; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.metric
    ADD CONSTRAINT fk_metric_ap_name_ap_name FOREIGN KEY (archive_policy_name) REFERENCES public.archive_policy(name) ON DELETE RESTRICT;


--
-- Name: metric fk_metric_resource_id_resource_id; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.metric
    ADD CONSTRAINT fk_metric_resource_id_resource_id FOREIGN KEY (resource_id) REFERENCES public.resource(id) ON DELETE SET NULL;


--
-- Name: resource_history fk_resource_history_resource_type_name; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.resource_history
    ADD CONSTRAINT fk_resource_history_resource_type_name FOREIGN KEY (type) REFERENCES public.resource_type(name) ON DELETE RESTRICT;


--
-- Name: resource fk_resource_resource_type_name; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.resource
    ADD CONSTRAINT fk_resource_resource_type_name FOREIGN KEY (type) REFERENCES public.resource_type(name) ON DELETE RESTRICT;


--
-- Name: resource_history fk_rh_id_resource_id; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.resource_history
    ADD CONSTRAINT fk_rh_id_resource_id FOREIGN KEY (id) REFERENCES public.resource(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--

\unrestrict gnocchi

