-- Server-side loop: :n calls of lg_ingest with 1000 reports each, arrays
-- already in memory (no client, no commit per call). Prints reports/s.
DO $$
DECLARE
    c record; t0 timestamptz; s bigint; n int := 0; total int := 0; res record;
    v_batch int[]; v_supi text[]; v_rat text[]; v_cell text[]; v_nul float8[];
BEGIN
    t0 := clock_timestamp();
    FOR c IN SELECT * FROM bench_call ORDER BY id LIMIT 50 LOOP
        v_batch := c.batch; v_supi := c.supi; v_rat := c.rat; v_cell := c.cell; v_nul := c.nul;
        s := nextval('bench_seq');
        SELECT * INTO res FROM lg_ingest(
            ARRAY['mme1','mme2','mme3','mme4','mme5','mme6','mme7','mme8','mme9','mme10'],
            array_fill(s, ARRAY[10]), 1024, 2, v_batch, v_supi,
            array_fill((extract(epoch FROM clock_timestamp()) * 1e6)::bigint, ARRAY[1000]),
            v_rat, v_cell, v_nul, v_nul, v_nul);
        total := total + 1000;
    END LOOP;
    RAISE NOTICE 'reports/s (server-side, one transaction): %',
        round(total / extract(epoch FROM clock_timestamp() - t0));
END
$$;
