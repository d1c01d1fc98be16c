-- Full-text search: one tsvector per live item, kept in the same
-- transaction as the item projection by a trigger; per-type field weights
-- from the item_type and search config documents, kept by a trigger on the
-- config store. Stage overrides are not stored: their vectors are computed
-- on the fly from the revision (a stage overrides few items).

-- The text search configuration of a language tag (en, pt-br, und, ...).
CREATE FUNCTION trovato_regconfig(lang text) RETURNS regconfig
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE split_part(lower(COALESCE(lang, '')), '-', 1)
        WHEN 'en' THEN 'pg_catalog.english'
        WHEN 'de' THEN 'pg_catalog.german'
        WHEN 'fr' THEN 'pg_catalog.french'
        WHEN 'es' THEN 'pg_catalog.spanish'
        WHEN 'pt' THEN 'pg_catalog.portuguese'
        WHEN 'it' THEN 'pg_catalog.italian'
        WHEN 'nl' THEN 'pg_catalog.dutch'
        ELSE 'pg_catalog.simple' END)::regconfig
$$;

-- A query in every configuration above, OR-ed: an item matches when the
-- query matches in its own language's stemming.
CREATE FUNCTION trovato_search_query(q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT websearch_to_tsquery('pg_catalog.simple', q) || websearch_to_tsquery('pg_catalog.english', q)
        || websearch_to_tsquery('pg_catalog.german', q) || websearch_to_tsquery('pg_catalog.french', q)
        || websearch_to_tsquery('pg_catalog.spanish', q) || websearch_to_tsquery('pg_catalog.portuguese', q)
        || websearch_to_tsquery('pg_catalog.italian', q) || websearch_to_tsquery('pg_catalog.dutch', q)
$$;

-- The text of a field value: a string, or the strings of a list.
CREATE FUNCTION trovato_json_text(v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE jsonb_typeof(v)
        WHEN 'string' THEN v #>> '{}'
        WHEN 'array' THEN (SELECT string_agg(e #>> '{}', E'\n') FROM jsonb_array_elements(v) e WHERE jsonb_typeof(e) = 'string')
        END
$$;

-- Weights per item type: field 'title' is the title (a reserved field
-- name, so no field can take it).
CREATE TABLE search_weight (
    item_type text NOT NULL,
    field     text NOT NULL,
    weight    "char" NOT NULL CHECK (weight IN ('A', 'B', 'C', 'D')),
    PRIMARY KEY (item_type, field)
);

-- At most this many characters of an item are indexed (a tsvector is
-- limited to 1 MB).
CREATE FUNCTION trovato_search_vector(typ text, lang text, title text, fields jsonb) RETURNS tsvector
LANGUAGE plpgsql STABLE AS $$
DECLARE
    cfg    regconfig := trovato_regconfig(lang);
    v      tsvector := ''::tsvector;
    budget integer := 250000;
    t      text;
    r      record;
    found_any boolean := false;
BEGIN
    FOR r IN SELECT w.field, w.weight FROM search_weight w WHERE w.item_type = typ ORDER BY w.weight, w.field LOOP
        found_any := true;
        IF r.field = 'title' THEN
            t := title;
        ELSE
            t := trovato_json_text(fields -> r.field);
        END IF;
        IF t IS NOT NULL AND t <> '' AND budget > 0 THEN
            t := left(t, budget);
            budget := budget - length(t);
            v := v || setweight(to_tsvector(cfg, t), r.weight);
        END IF;
    END LOOP;
    IF NOT found_any THEN
        v := setweight(to_tsvector(cfg, left(COALESCE(title, ''), budget)), 'A');
    END IF;
    RETURN v;
END $$;

-- The text snippets are cut from: the indexed fields other than the title.
CREATE FUNCTION trovato_search_text(typ text, fields jsonb) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT left(string_agg(trovato_json_text(fields -> w.field), E'\n' ORDER BY w.weight, w.field), 20000)
    FROM search_weight w WHERE w.item_type = typ AND w.field <> 'title'
$$;

CREATE TABLE item_search (
    item_id uuid PRIMARY KEY REFERENCES item (id) ON DELETE CASCADE,
    doc     tsvector NOT NULL
);
CREATE INDEX item_search_doc ON item_search USING gin (doc);

CREATE FUNCTION trovato_item_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO item_search (item_id, doc) VALUES (NEW.id, trovato_search_vector(NEW.type, NEW.language, NEW.title, NEW.fields))
    ON CONFLICT (item_id) DO UPDATE SET doc = EXCLUDED.doc;
    RETURN NULL;
END $$;
CREATE TRIGGER item_search_insert AFTER INSERT ON item
    FOR EACH ROW EXECUTE FUNCTION trovato_item_search();
CREATE TRIGGER item_search_update AFTER UPDATE ON item
    FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.fields IS DISTINCT FROM NEW.fields
        OR OLD.language IS DISTINCT FROM NEW.language OR OLD.type IS DISTINCT FROM NEW.type)
    EXECUTE FUNCTION trovato_item_search();

-- Recompute a type's weights from its item_type and search documents:
-- title A, long_text B, text C unless the search document says otherwise
-- ('none' leaves a field out). When they changed, re-index its live items.
CREATE FUNCTION trovato_search_weights(typ text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tdoc   jsonb;
    sdoc   jsonb;
    before jsonb;
    after  jsonb;
BEGIN
    SELECT body INTO tdoc FROM config_doc WHERE kind = 'item_type' AND name = typ;
    SELECT body INTO sdoc FROM config_doc WHERE kind = 'search' AND name = typ;
    SELECT jsonb_object_agg(field, weight::text) INTO before FROM search_weight WHERE item_type = typ;
    DELETE FROM search_weight WHERE item_type = typ;
    IF tdoc IS NOT NULL THEN
        INSERT INTO search_weight (item_type, field, weight)
        SELECT typ, f.name, f.w::"char" FROM (
            SELECT 'title' AS name, COALESCE(sdoc -> 'weights' ->> 'title', 'A') AS w
            UNION ALL
            SELECT fd ->> 'name', COALESCE(sdoc -> 'weights' ->> (fd ->> 'name'),
                CASE fd ->> 'type' WHEN 'long_text' THEN 'B' ELSE 'C' END)
            FROM jsonb_array_elements(COALESCE(tdoc -> 'fields', '[]'::jsonb)) fd
            WHERE fd ->> 'type' IN ('text', 'long_text')
        ) f WHERE f.w IN ('A', 'B', 'C', 'D');
    END IF;
    SELECT jsonb_object_agg(field, weight::text) INTO after FROM search_weight WHERE item_type = typ;
    IF before IS DISTINCT FROM after THEN
        UPDATE item_search s SET doc = trovato_search_vector(i.type, i.language, i.title, i.fields)
        FROM item i WHERE i.id = s.item_id AND i.type = typ;
    END IF;
END $$;

CREATE FUNCTION trovato_config_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND (OLD.kind, OLD.name) IS DISTINCT FROM (NEW.kind, NEW.name)) THEN
        IF OLD.kind IN ('item_type', 'search') THEN
            PERFORM trovato_search_weights(OLD.name);
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.kind IN ('item_type', 'search') THEN
        PERFORM trovato_search_weights(NEW.name);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER config_doc_search AFTER INSERT OR UPDATE OR DELETE ON config_doc
    FOR EACH ROW EXECUTE FUNCTION trovato_config_search();

-- Existing data.
SELECT trovato_search_weights(name) FROM config_doc WHERE kind = 'item_type';
INSERT INTO item_search (item_id, doc)
SELECT id, trovato_search_vector(type, language, title, fields) FROM item
ON CONFLICT (item_id) DO NOTHING;
