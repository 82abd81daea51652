DROP TABLE IF EXISTS coupon_reminders;
DROP TABLE IF EXISTS event_announcements;
DROP TABLE IF EXISTS notifications;
DROP TABLE IF EXISTS notification_preferences;
DROP TABLE IF EXISTS store_subscriptions;
DROP TABLE IF EXISTS devices;
