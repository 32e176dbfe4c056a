-- What grades knows of an enrollment: its student (from step 3) and whether step 4 was compensated.
-- Base records are written when grades reads back its own enrollment.grades.initialized, and a
-- compensation may be read first (another topic, e.g. in a rebuild): the flag keeps that order harmless.
create table enrollment_refs (
  enrollment_id text primary key,
  student_user_id text,
  compensated boolean not null default false
);
