create table academic_years (
  id text primary key,
  name text not null,
  start_date date not null,
  end_date date not null,
  grading_periods jsonb not null
);

create table sections (
  id text primary key,
  academic_year_id text not null,
  name text not null,
  grade_level int not null,
  capacity int not null check (capacity >= 0),
  seats_taken int not null default 0 check (seats_taken >= 0),
  homeroom text
);
create index sections_year on sections (academic_year_id);

create table section_courses (
  section_id text not null,
  course_id text not null,
  course_name text not null,
  weekly_hours int not null,
  primary key (section_id, course_id)
);
create index section_courses_course on section_courses (course_id);

-- The enrollment read model is also the saga state: status, current step, failure and compensations.
create table enrollments (
  enrollment_id text primary key,
  student_user_id text not null,
  section_id text not null,
  academic_year_id text not null,
  enrollment_date date not null,
  enrollment_type text not null,
  previous_institution text,
  correlation_id text not null,
  status text not null,
  current_step text not null,
  failed_step text,
  failure_reason text,
  seat_held boolean not null default false,
  active boolean not null default true,
  compensated jsonb not null default '[]',
  warnings jsonb not null default '[]',
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create index enrollments_student on enrollments (student_user_id);
create index enrollments_status_step on enrollments (status, current_step, updated_at);
create index enrollments_section on enrollments (section_id) where active;

create table saga_timeline (
  enrollment_id text not null,
  event_id text not null,
  event_type text not null,
  step text not null,
  outcome text not null,
  detail text,
  at timestamptz not null,
  primary key (enrollment_id, event_id)
);
