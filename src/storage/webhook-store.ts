// Webhooks and their deliveries in Redis, in the record format of redis.ts. A webhook is indexed
// per tenant; a delivery is indexed per webhook (its record's owner field holds the webhook id, and
// the service checks that the webhook belongs to the caller before listing). Deliveries expire
// DELIVERY_TTL_S after their last write, so the history of a busy endpoint stays bounded.
import type { StoredDelivery, StoredWebhook, WebhookStore } from '../domain/webhooks.js';
import { createRecordStore } from './record-store.js';
import type { Redis } from './redis.js';

const DELIVERY_TTL_S = 7 * 24 * 3600;
const MAX_WEBHOOKS_SCAN = 1000;

export function createWebhookStore(deps: { redis: Redis; prefix: string }): WebhookStore {
  const { redis, prefix } = deps;
  const webhookKey = (id: string) => `${prefix}:webhook:${id}`;
  const deliveryKey = (id: string) => `${prefix}:webhook-delivery:${id}`;
  const deliveryIndex = (webhookId: string) => `${prefix}:webhook:${webhookId}:deliveries`;
  const webhooks = createRecordStore<StoredWebhook>({
    redis,
    recordKey: webhookKey,
    indexKey: (tenant) => `${prefix}:tenant:${tenant}:webhooks`,
  });
  const deliveries = createRecordStore<StoredDelivery>({
    redis,
    recordKey: deliveryKey,
    indexKey: deliveryIndex,
  });

  return {
    put: (tenant, webhook) => webhooks.put(tenant, webhook),
    get: (tenant, id) => webhooks.get(tenant, id),
    read: async (id) => (await webhooks.getRecord(id))?.data ?? null,
    list: (tenant, query) => webhooks.list(tenant, query),
    all: async (tenant) => (await webhooks.list(tenant, { limit: MAX_WEBHOOKS_SCAN })).data,
    async remove(tenant, id) {
      const removed = await webhooks.remove(tenant, id);
      if (removed) await redis.del(deliveryIndex(id));
      return removed;
    },
    async putDelivery(delivery) {
      await deliveries.put(delivery.webhookId, delivery);
      await redis
        .multi()
        .expire(deliveryKey(delivery.id), DELIVERY_TTL_S)
        .expire(deliveryIndex(delivery.webhookId), DELIVERY_TTL_S)
        .exec();
    },
    getDelivery: async (id) => (await deliveries.getRecord(id))?.data ?? null,
    listDeliveries: (webhookId, query) => deliveries.list(webhookId, query),
  };
}
