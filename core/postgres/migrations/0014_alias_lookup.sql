-- Alias lookups by path and by alias (a new item's automatic alias, a
-- taken alias's -2, -3 ..., an alias's uniqueness check) read alias
-- revisions through a stage's overlay. Without these indexes each lookup
-- scanned every alias head, so creating n items cost n²: 74 s for 2,000
-- articles (server/export's bench). The queries say kind = 'alias' so
-- that PostgreSQL can use the partial indexes.
CREATE INDEX revision_alias_path ON revision ((doc->>'path')) WHERE kind = 'alias';
CREATE INDEX revision_alias_alias ON revision ((doc->>'alias')) WHERE kind = 'alias';
ANALYZE revision;
