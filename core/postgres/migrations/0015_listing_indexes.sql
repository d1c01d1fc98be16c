-- Indexes for the listings of a large site (server/export's bench: 10,000
-- articles).
--
-- Gathers sort with NULLS LAST; an index made with the default order
-- (DESC is NULLS FIRST) cannot give that order, so a gather of the five
-- latest articles read and sorted every article. With these, a gather
-- whose pager shows one page (a sidebar tile) reads a few rows.
CREATE INDEX item_gather_created ON item (created_at DESC NULLS LAST, id DESC);
CREATE INDEX item_gather_sticky ON item (sticky DESC NULLS LAST, created_at DESC NULLS LAST, id DESC);
-- A sitemap part lists the items in id order from an offset: with the
-- columns its access filter reads beside the id, the scan to its offset
-- reads the index alone, not every item's row.
CREATE INDEX item_sitemap ON item (id) INCLUDE (status, type, author_id, language, changed_at);
ANALYZE item;
