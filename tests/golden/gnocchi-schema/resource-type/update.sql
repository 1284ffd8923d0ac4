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

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: rt_10e79e20508942329df5670036494909; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.rt_10e79e20508942329df5670036494909 (
    host character varying(64) NOT NULL,
    cpus double precision,
    load double precision NOT NULL,
    enabled boolean NOT NULL,
    owner uuid,
    image uuid NOT NULL,
    booted_at timestamp without time zone,
    seen_at timestamp without time zone NOT NULL,
    id uuid NOT NULL,
    zone character varying(16) NOT NULL,
    weight double precision
);


--
-- Name: rt_10e79e20508942329df5670036494909_history; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.rt_10e79e20508942329df5670036494909_history (
    host character varying(64) NOT NULL,
    cpus double precision,
    load double precision NOT NULL,
    enabled boolean NOT NULL,
    owner uuid,
    image uuid NOT NULL,
    booted_at timestamp without time zone,
    seen_at timestamp without time zone NOT NULL,
    revision integer NOT NULL,
    zone character varying(16) NOT NULL,
    weight double precision
);


--
-- Name: rt_10e79e20508942329df5670036494909_history rt_10e79e20508942329df5670036494909_history_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rt_10e79e20508942329df5670036494909_history
    ADD CONSTRAINT rt_10e79e20508942329df5670036494909_history_pkey PRIMARY KEY (revision);


--
-- Name: rt_10e79e20508942329df5670036494909 rt_10e79e20508942329df5670036494909_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rt_10e79e20508942329df5670036494909
    ADD CONSTRAINT rt_10e79e20508942329df5670036494909_pkey PRIMARY KEY (id);


--
-- Name: rt_10e79e20508942329df5670036494909_history fk_rt_10e79e20508942329df5670036494909_h_revision_rh_revision; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rt_10e79e20508942329df5670036494909_history
    ADD CONSTRAINT fk_rt_10e79e20508942329df5670036494909_h_revision_rh_revision FOREIGN KEY (revision) REFERENCES public.resource_history(revision) ON DELETE CASCADE;


--
-- Name: rt_10e79e20508942329df5670036494909 fk_rt_10e79e20508942329df5670036494909_id_resource_id; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rt_10e79e20508942329df5670036494909
    ADD CONSTRAINT fk_rt_10e79e20508942329df5670036494909_id_resource_id FOREIGN KEY (id) REFERENCES public.resource(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--

\unrestrict gnocchi

