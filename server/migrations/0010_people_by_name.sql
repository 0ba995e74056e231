-- Whom an `@name` names is looked up by name as mentions match it, ASCII letters in
-- either case the same (SQLite's own lower() folds ASCII letters only).
CREATE INDEX people_by_name ON people (lower(name), user_id);
