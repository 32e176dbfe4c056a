-- Rule ATTENDANCE_DATE_OUTSIDE_YEAR on the processor side (processors/attendance/years.ts, docs/invariants.md):
-- each section's academic year (section.created) and each year's dates (academic.year.started), immutable once
-- known. A projection built before this learns them only in a rebuild (until then its new marks are parked).
create table section_years (section_id text primary key, academic_year_id text not null);
create table academic_years (academic_year_id text primary key, start_date date not null, end_date date not null);
