"""SQL of the business layer, one module per purpose; this package owns every ``biz_*``
table (schema in ``node.storage.business_migrations``) and touches no other.

- ``documents``: ``biz_documents`` (profile, automation settings, catalog version);
- ``conversations``: ``biz_conversations`` (the team inbox, listed in two queries);
- ``labels``: ``biz_labels``, ``biz_conversation_labels``;
- ``notes``: ``biz_notes``; ``quick_replies``: ``biz_quick_replies``;
- ``automation``: ``biz_automation_marks``;
- ``catalog``: ``biz_products``; ``orders``: ``biz_orders``; ``blocks``: ``biz_blocks``;
- ``message_log``: ``biz_message_log``; ``stats``: ``biz_stats_daily``,
  ``biz_response_times``;
- ``rights``: one address's rows across these tables (export, erasure);
  ``retention``: stale resolved conversations and their records.

Services import the package (``from node.storage import business as store``) and call
the functions re-exported here. Functions ending in ``_txn`` run inside
``Database.write``.
"""

from __future__ import annotations

from node.storage.business.automation import (
    automation_marks,
    record_automation_sent_txn,
)
from node.storage.business.blocks import (
    Block,
    add_block_txn,
    is_blocked_txn,
    is_server_blocked,
    list_blocks,
    remove_block_txn,
)
from node.storage.business.catalog import (
    count_products,
    delete_product_txn,
    get_product,
    insert_product_txn,
    list_products,
    product_images,
    update_product_txn,
)
from node.storage.business.conversations import (
    CONVERSATION_FIELDS,
    conversation_labels,
    get_conversation,
    insert_conversation_txn,
    list_conversations,
    update_conversation_txn,
)
from node.storage.business.documents import (
    get_document,
    put_document_txn,
)
from node.storage.business.labels import (
    attach_label_txn,
    count_labels,
    create_label_txn,
    delete_label_txn,
    detach_label_txn,
    get_label,
    label_by_name,
    label_customers,
    labels_of,
    list_labels,
    update_label_txn,
)
from node.storage.business.message_log import (
    expire_message_log_txn,
    incoming_ts,
    log_message_txn,
    mark_delivered_txn,
    mark_read_txn,
    mark_team_read_txn,
)
from node.storage.business.notes import (
    add_note_txn,
    count_notes,
    list_notes,
)
from node.storage.business.orders import (
    get_order,
    insert_order_txn,
    list_orders,
    orders_created_between,
    set_order_status_txn,
)
from node.storage.business.quick_replies import (
    count_quick_replies,
    create_quick_reply_txn,
    delete_quick_reply_txn,
    get_quick_reply,
    list_quick_replies,
    update_quick_reply_txn,
)
from node.storage.business.retention import (
    delete_conversation_records_txn,
    stale_resolved_conversations,
)
from node.storage.business.rights import (
    customer_addresses,
    customer_records,
    erase_customer_txn,
)
from node.storage.business.stats import (
    add_response_time_txn,
    bump_stat_txn,
    stats_between,
)

__all__ = [
    "CONVERSATION_FIELDS",
    "Block",
    "add_block_txn",
    "add_note_txn",
    "add_response_time_txn",
    "attach_label_txn",
    "automation_marks",
    "bump_stat_txn",
    "conversation_labels",
    "count_labels",
    "count_notes",
    "count_products",
    "count_quick_replies",
    "create_label_txn",
    "create_quick_reply_txn",
    "customer_addresses",
    "customer_records",
    "delete_conversation_records_txn",
    "delete_label_txn",
    "delete_product_txn",
    "delete_quick_reply_txn",
    "detach_label_txn",
    "erase_customer_txn",
    "expire_message_log_txn",
    "get_conversation",
    "get_document",
    "get_label",
    "get_order",
    "get_product",
    "get_quick_reply",
    "incoming_ts",
    "insert_conversation_txn",
    "insert_order_txn",
    "insert_product_txn",
    "is_blocked_txn",
    "is_server_blocked",
    "label_by_name",
    "label_customers",
    "labels_of",
    "list_blocks",
    "list_conversations",
    "list_labels",
    "list_notes",
    "list_orders",
    "list_products",
    "list_quick_replies",
    "log_message_txn",
    "mark_delivered_txn",
    "mark_read_txn",
    "mark_team_read_txn",
    "orders_created_between",
    "product_images",
    "put_document_txn",
    "record_automation_sent_txn",
    "remove_block_txn",
    "set_order_status_txn",
    "stale_resolved_conversations",
    "stats_between",
    "update_conversation_txn",
    "update_label_txn",
    "update_product_txn",
    "update_quick_reply_txn",
]
