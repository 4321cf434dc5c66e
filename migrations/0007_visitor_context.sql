-- What operators see about a visitor: the page the chat started on, where they came from, and
-- a random visitor key (kept in the widget's own storage after consent) linking their chats.

ALTER TABLE conversations ADD COLUMN page_url TEXT;
ALTER TABLE conversations ADD COLUMN referrer TEXT;
ALTER TABLE conversations ADD COLUMN visitor_key TEXT;

CREATE INDEX conversations_by_visitor ON conversations(visitor_key) WHERE visitor_key IS NOT NULL;
