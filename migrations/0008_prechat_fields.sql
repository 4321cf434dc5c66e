-- Extra pre-chat form fields per site (beyond name and question), and the visitor's answers.

ALTER TABLE sites ADD COLUMN fields TEXT NOT NULL DEFAULT '[]';
ALTER TABLE conversations ADD COLUMN answers TEXT;
