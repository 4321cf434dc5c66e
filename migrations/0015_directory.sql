-- Staff accounts from Active Directory / LDAP (source = 'ldap'): created at first sign-in and
-- refreshed at each one. They have no local password (password_hash stays NULL).
-- The user's entry in the directory, as of the last sign-in.
ALTER TABLE staff_users ADD COLUMN directory_dn TEXT;
-- The e-mail address the directory gave (ldap.email_attr); NULL for local accounts.
ALTER TABLE staff_users ADD COLUMN email TEXT;
