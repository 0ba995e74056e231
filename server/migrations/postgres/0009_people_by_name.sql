-- Whom an `@name` names is looked up by name as mentions match it, ASCII letters in
-- either case the same (translate, not lower(), which would fold other letters too).
CREATE INDEX people_by_name ON people
    (translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), user_id);
