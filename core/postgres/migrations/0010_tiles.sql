-- Tiles are their own config kind (core/schemas/tile.schema.json). Before,
-- every gather display of type tile (in a gather without path arguments)
-- was shown in the sidebar of every item, term and gather page but the
-- gather's own. Each becomes a tile document that shows the same thing;
-- the gather keeps its display (the tile takes its title and items).
WITH tiles AS (
    SELECT left(g.name || '-' || (d->>'name'), 64) AS name,
           g.name AS gather, d->>'name' AS display,
           COALESCE(NULLIF(d->>'title', ''), g.body->>'label', g.name) AS label,
           (SELECT COALESCE(jsonb_agg(p ORDER BY p), '[]'::jsonb)
              FROM (SELECT pd->>'path' AS p FROM jsonb_array_elements(g.body->'displays') pd
                     WHERE pd->>'type' = 'page' AND pd->>'path' IS NOT NULL
                    UNION ALL
                    SELECT (pd->>'path') || '/page/*' FROM jsonb_array_elements(g.body->'displays') pd
                     WHERE pd->>'type' = 'page' AND pd->>'path' IS NOT NULL) paths) AS hidden_on
      FROM config_doc g, jsonb_array_elements(COALESCE(g.body->'displays', '[]'::jsonb)) d
     WHERE g.kind = 'gather' AND d->>'type' = 'tile'
       AND COALESCE((g.body->'filters')::text, '') !~ '\{arg[0-9]\}'
), docs AS (
    SELECT name, jsonb_build_object(
               'kind', 'tile', 'name', name, 'label', label, 'region', 'sidebar',
               'content', jsonb_build_object('gather', jsonb_build_object('gather', gather, 'display', display)))
           || CASE WHEN hidden_on = '[]'::jsonb THEN '{}'::jsonb
                   ELSE jsonb_build_object('visibility', jsonb_build_object('except', hidden_on)) END AS body
      FROM tiles
), stored AS (
    INSERT INTO config_doc (kind, name, version, body, changed_by)
    SELECT 'tile', name, 1, body, '01000000-0000-7000-8000-000000000001' FROM docs
    ON CONFLICT (kind, name) DO NOTHING
    RETURNING name, body
), versions AS (
    INSERT INTO config_doc_version (kind, name, version, body, created_by)
    SELECT 'tile', name, 1, body, '01000000-0000-7000-8000-000000000001' FROM stored
)
INSERT INTO change_feed (kind, entity_id, op)
SELECT 'config', 'tile/' || name, 'create' FROM stored;
