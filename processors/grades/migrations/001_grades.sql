-- What grades needs to know of academic events, kept here so the processor stands alone.
create table section_courses (section_id text not null, course_id text not null, primary key (section_id, course_id));
create table section_years (section_id text primary key, academic_year_id text not null);
create table grading_periods (academic_year_id text not null, period_id text not null, start_date date not null, end_date date not null,
  primary key (academic_year_id, period_id));

create table grades (
  grade_id text primary key,
  student_user_id text not null,
  section_id text not null,
  course_id text not null,
  period_id text not null,
  evaluation_type text not null,
  score double precision not null,
  max_score double precision not null,
  recorded_by text not null,
  comment text,
  recorded_at timestamptz not null,
  updated_at timestamptz not null
);
create index grades_student_period on grades (student_user_id, period_id);
create index grades_student_course_period on grades (student_user_id, course_id, period_id);

create table period_averages (
  student_user_id text not null,
  course_id text not null,
  period_id text not null,
  section_id text not null,
  average double precision not null,
  grade_count int not null,
  updated_at timestamptz not null,
  primary key (student_user_id, course_id, period_id)
);
create index period_averages_student_period on period_averages (student_user_id, period_id);

-- Step 4 of the enrollment saga: one base record per course and grading period.
create table base_records (
  enrollment_id text not null,
  student_user_id text not null,
  section_id text not null,
  course_id text not null,
  period_id text not null,
  primary key (enrollment_id, course_id, period_id)
);
create index base_records_student on base_records (student_user_id);

create table competencies (
  evaluation_id text primary key,
  student_user_id text not null,
  course_id text not null,
  period_id text not null,
  competency_id text not null,
  level text not null,
  evaluated_by text not null,
  comment text,
  evaluated_at timestamptz not null
);
create index competencies_student_period on competencies (student_user_id, period_id);
