-- Rule GRADE_STUDENT_NOT_ENROLLED: which section each enrollment is in, as grades knows it (set from step 4's
-- outcome, enrollment.grades.initialized, which a transfer repeats for the new section). A grade is applied only
-- for a student with an uncompensated enrollment in the grade's section.
alter table enrollment_refs add column section_id text;
-- Existing rows: the section most of the enrollment's base records are in. After a transfer that can be the old
-- section (records of courses only it teaches stay there); a rebuild of grades sets every row exactly.
update enrollment_refs r set section_id = (
  select b.section_id from base_records b where b.enrollment_id = r.enrollment_id
  group by b.section_id order by count(*) desc, b.section_id limit 1);
create index enrollment_refs_student on enrollment_refs (student_user_id, section_id);
