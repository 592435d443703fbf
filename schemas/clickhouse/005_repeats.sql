-- Repeat contacts: a contact whose customer already had another case on the same cluster within the
-- last {window_days} days. A parameterised view: SELECT * FROM v_repeat_contacts(window_days = 7).
CREATE VIEW IF NOT EXISTS v_repeat_contacts AS
SELECT cluster_id, toStartOfDay(occurred_at) AS day, count() AS contacts,
       countIf(prev_case != '' AND prev_case != case_id AND prev_at >= occurred_at - toIntervalDay({window_days:UInt32})) AS repeat_contacts
FROM
(
    SELECT cluster_id, customer_id, case_id, occurred_at,
           lagInFrame(case_id, 1, '') OVER w AS prev_case,
           lagInFrame(occurred_at, 1, toDateTime64(0, 3, 'UTC')) OVER w AS prev_at
    FROM assignments
    WHERE customer_id != ''
    WINDOW w AS (PARTITION BY cluster_id, customer_id ORDER BY occurred_at, event_id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
)
GROUP BY cluster_id, day;
