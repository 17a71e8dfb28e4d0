-- SPDX-License-Identifier: Apache-2.0
--
-- Every trigger that keeps a cache honest, in one place. Each cache holds
-- something derived from reference data or from the rows the hot path
-- writes; a change of what it was derived from raises a version number or
-- deletes the derived rows, in the writer's own transaction, so no reader
-- ever uses a stale entry after that transaction commits.
--
--   what changes                              what it raises or drops
--   ----------------------------------------  -----------------------------------------
--   ue.imsi, ue.mobility, ue.ambiguous_policy  lg_ref_epoch.epoch
--   ue_area: any row, or TRUNCATE             lg_ref_epoch.epoch
--   area.geom, area deleted, TRUNCATE          lg_ref_epoch.epoch
--   area.geom                                  area_cell_verdict rows of that area
--   cell: any row, or TRUNCATE                 lg_ref_epoch.epoch
--   cell.coverage                              area_cell_verdict rows of that cell
--   cell: insert, delete, cell_key, coverage,  count_geo_version.version
--         or TRUNCATE
--   lg_ref_epoch.epoch                         lg_ingest_cache_gen (sequence)
--   ue_location written by anyone but the      lg_ingest_cache_gen
--     cache owner's lg_ingest, or TRUNCATE
--   network_node: insert, delete, name,        lg_ingest_cache_gen
--     enabled (not high_seq: every call raises it)
--   a new claim of the ingest cache            lg_ingest_cache_gen (in lg_ingest itself)
--   ue: insert, delete, imsi, or TRUNCATE      amf_device_version.version
--   ue: insert, delete, imsi                   amf_chunk_dirty rows: the IMSIs (old
--                                                and new of a renamed device)
--   ue: TRUNCATE                               amf_chunk_dirty row with no IMSI (all)
--
-- Who reads what:
--   lg_ref_epoch        ue_location.dec_epoch: lg_ingest's fast path uses a
--                       row's cached decision only at the current epoch
--                       (migrations/0005_ingest_fast_path.sql)
--   area_cell_verdict   lg_ingest's general decision: an area's verdict on a
--                       cell's coverage without a GEOS call
--                       (migrations/0002_area_cell_verdict.sql)
--   count_geo_version   lg_counts_refresh rebuilds the count tables derived
--                       from cell when version <> built; the daemon's count
--                       evaluator reloads its geometry (sql/counts.sql,
--                       migrations/0012_counts_fast.sql)
--   lg_ingest_cache_gen the daemon's cache of coalescable rows
--                       (service/south/ingest_cache.c): lg_ingest refuses reports
--                       the daemon coalesced at an older generation
--                       (migrations/0018_ingest_cache.sql)
--   amf_device_version  the daemon's AMF subscriptions update their SUPI
--                       list when it moves (service/south/amfsub.c,
--                       migrations/0024_amf_subscription.sql)
--   amf_chunk_dirty     amf_chunk_sync (sql/amfsub.sql), which the daemon
--                       calls when amf_device_version moved: it takes the
--                       queued IMSIs and moves those devices in or out of
--                       their chunks; a row with no IMSI makes it read the
--                       whole device table (migrations/0029_amf_chunk_dirty.sql)
--
-- Statement-level triggers raise a version once per statement, whatever it
-- touched. CREATE OR REPLACE: this file is applied again on every migrate.

-- lg_ref_epoch_bump: every cached decision is stale from this transaction's
-- commit on.
CREATE OR REPLACE FUNCTION lg_ref_epoch_bump() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE lg_ref_epoch SET epoch = epoch + 1 WHERE one;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE TRIGGER ue_decision_inputs_changed
    AFTER UPDATE OF imsi, mobility, ambiguous_policy ON ue
    FOR EACH STATEMENT EXECUTE FUNCTION lg_ref_epoch_bump();
CREATE OR REPLACE TRIGGER ue_area_changed
    AFTER INSERT OR UPDATE OR DELETE ON ue_area
    FOR EACH STATEMENT EXECUTE FUNCTION lg_ref_epoch_bump();
CREATE OR REPLACE TRIGGER ue_area_truncated
    AFTER TRUNCATE ON ue_area
    FOR EACH STATEMENT EXECUTE FUNCTION lg_ref_epoch_bump();
CREATE OR REPLACE TRIGGER area_changed
    AFTER UPDATE OF geom OR DELETE ON area
    FOR EACH STATEMENT EXECUTE FUNCTION lg_ref_epoch_bump();
CREATE OR REPLACE TRIGGER area_truncated
    AFTER TRUNCATE ON area
    FOR EACH STATEMENT EXECUTE FUNCTION lg_ref_epoch_bump();
CREATE OR REPLACE TRIGGER cell_changed
    AFTER INSERT OR UPDATE OR DELETE ON cell
    FOR EACH STATEMENT EXECUTE FUNCTION lg_ref_epoch_bump();
CREATE OR REPLACE TRIGGER cell_truncated
    AFTER TRUNCATE ON cell
    FOR EACH STATEMENT EXECUTE FUNCTION lg_ref_epoch_bump();

-- lg_area_geom_changed: forget the cached verdicts of an area whose
-- geometry changed (a deleted area's go by ON DELETE CASCADE).
CREATE OR REPLACE FUNCTION lg_area_geom_changed() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    DELETE FROM area_cell_verdict WHERE area_id = NEW.id;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE TRIGGER area_geom_changed
    AFTER UPDATE OF geom ON area
    FOR EACH ROW WHEN (OLD.geom IS DISTINCT FROM NEW.geom)
    EXECUTE FUNCTION lg_area_geom_changed();

-- lg_cell_coverage_changed: forget the cached verdicts of a cell whose
-- coverage changed (a deleted or renamed cell's follow by the foreign key).
CREATE OR REPLACE FUNCTION lg_cell_coverage_changed() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    DELETE FROM area_cell_verdict WHERE cell_key = NEW.cell_key;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE TRIGGER cell_coverage_changed
    AFTER UPDATE OF coverage ON cell
    FOR EACH ROW WHEN (OLD.coverage IS DISTINCT FROM NEW.coverage)
    EXECUTE FUNCTION lg_cell_coverage_changed();

-- lg_count_geo_bump: the count tables derived from cell are out of date.
CREATE OR REPLACE FUNCTION lg_count_geo_bump() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE count_geo_version SET version = version + 1 WHERE one;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE TRIGGER cell_count_geo_changed
    AFTER INSERT OR UPDATE OF cell_key, coverage OR DELETE ON cell
    FOR EACH STATEMENT EXECUTE FUNCTION lg_count_geo_bump();
CREATE OR REPLACE TRIGGER cell_count_geo_truncated
    AFTER TRUNCATE ON cell
    FOR EACH STATEMENT EXECUTE FUNCTION lg_count_geo_bump();

-- lg_ingest_cache_gen: the generation of the daemon's ingest cache as it
-- stands (no lock; a sequence is not transactional, so a rolled-back write
-- only empties the cache for nothing).
CREATE OR REPLACE FUNCTION lg_ingest_cache_gen() RETURNS bigint
LANGUAGE sql STABLE AS $fn$
    SELECT s.last_value FROM lg_ingest_cache_gen s
$fn$;

-- lg_ingest_cache_invalidate: raises the generation unless the statement
-- runs in the cache owner's lg_ingest (which sets
-- locguard.ingest_cache_owner for its transaction).
CREATE OR REPLACE FUNCTION lg_ingest_cache_invalidate() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF current_setting('locguard.ingest_cache_owner', true) IS DISTINCT FROM 'on' THEN
        PERFORM nextval('lg_ingest_cache_gen');
    END IF;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE TRIGGER ue_location_written
    AFTER INSERT OR UPDATE OR DELETE ON ue_location
    FOR EACH STATEMENT EXECUTE FUNCTION lg_ingest_cache_invalidate();
CREATE OR REPLACE TRIGGER ue_location_truncated
    AFTER TRUNCATE ON ue_location
    FOR EACH STATEMENT EXECUTE FUNCTION lg_ingest_cache_invalidate();
CREATE OR REPLACE TRIGGER ref_epoch_raised
    AFTER UPDATE ON lg_ref_epoch
    FOR EACH STATEMENT EXECUTE FUNCTION lg_ingest_cache_invalidate();
CREATE OR REPLACE TRIGGER network_node_changed
    AFTER INSERT OR DELETE OR UPDATE OF name, enabled ON network_node
    FOR EACH STATEMENT EXECUTE FUNCTION lg_ingest_cache_invalidate();

-- amf_device_version_bump: the SUPIs the AMF subscriptions name
-- (service/south/amfsub.c) are stale from this transaction's commit on;
-- the daemon sees the new version at its next poll and updates them.
CREATE OR REPLACE FUNCTION amf_device_version_bump() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE amf_device_version SET version = version + 1 WHERE one;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE TRIGGER ue_supis_changed
    AFTER INSERT OR DELETE OR UPDATE OF imsi ON ue
    FOR EACH STATEMENT EXECUTE FUNCTION amf_device_version_bump();
CREATE OR REPLACE TRIGGER ue_truncated_for_amf
    AFTER TRUNCATE ON ue
    FOR EACH STATEMENT EXECUTE FUNCTION amf_device_version_bump();

-- amf_chunk_mark: queues in amf_chunk_dirty the IMSIs whose chunk may
-- change (amf_chunk_sync in sql/amfsub.sql handles them): the
-- devices a statement provisioned or removed, both IMSIs of a device whose
-- IMSI changed; after a TRUNCATE a row with no IMSI (every device), and for
-- the rest of that transaction nothing more (the full pass that row asks
-- for sees its changes: a bulk load after TRUNCATE queues no IMSI).
CREATE OR REPLACE FUNCTION amf_chunk_mark() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO amf_chunk_dirty (imsi) VALUES (NULL);
        PERFORM set_config('locguard.amf_chunk_all', 'on', true);
    ELSIF current_setting('locguard.amf_chunk_all', true) IS NOT DISTINCT FROM 'on' THEN
        NULL;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO amf_chunk_dirty (imsi) SELECT n.imsi FROM amf_new_ue n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO amf_chunk_dirty (imsi) SELECT o.imsi FROM amf_old_ue o;
    ELSE
        INSERT INTO amf_chunk_dirty (imsi) VALUES (OLD.imsi), (NEW.imsi);
    END IF;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE TRIGGER ue_provisioned_for_amf_chunks
    AFTER INSERT ON ue REFERENCING NEW TABLE AS amf_new_ue
    FOR EACH STATEMENT EXECUTE FUNCTION amf_chunk_mark();
CREATE OR REPLACE TRIGGER ue_removed_for_amf_chunks
    AFTER DELETE ON ue REFERENCING OLD TABLE AS amf_old_ue
    FOR EACH STATEMENT EXECUTE FUNCTION amf_chunk_mark();
CREATE OR REPLACE TRIGGER ue_imsi_changed_for_amf_chunks
    AFTER UPDATE OF imsi ON ue
    FOR EACH ROW WHEN (OLD.imsi IS DISTINCT FROM NEW.imsi)
    EXECUTE FUNCTION amf_chunk_mark();
CREATE OR REPLACE TRIGGER ue_truncated_for_amf_chunks
    AFTER TRUNCATE ON ue
    FOR EACH STATEMENT EXECUTE FUNCTION amf_chunk_mark();
