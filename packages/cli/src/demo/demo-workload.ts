import type { FlowInput } from '@flow-dispatcher/shared';

/** Triggers whose IndividualId starts with this fail in the simulator's flow, every time. */
export const BAD_PREFIX = '0PKbad';
/** Triggers whose IndividualId starts with this hit a locked row once, then go through. */
export const LOCKED_PREFIX = '0PKlck';

function individualId(prefix: string, n: number): string {
  return `${prefix}${n.toString(36).padStart(18 - prefix.length, '0')}`;
}

/**
 * A realistic burst: sign-ups (SMS) and orders (email with an Apex-defined input) at 7 to 3,
 * with a few poisoned and a few briefly locked records among them.
 */
export function demoWorkload(total: number): { flow: string; inputs: FlowInput[] }[] {
  const sms: FlowInput[] = [];
  const email: FlowInput[] = [];
  const bad = Math.min(20, Math.floor(total / 1_000));
  const locked = Math.min(30, Math.floor(total / 1_000));
  for (let n = 0; n < total; n++) {
    const prefix = n < bad ? BAD_PREFIX : n < bad + locked ? LOCKED_PREFIX : '0PKdem';
    const id = individualId(prefix, n);
    if (n % 10 < 7) {
      sms.push({
        IndividualId: id,
        TelephoneNumber: `+1555${String(n).padStart(7, '0')}`,
        Coupon_Code: `WELCOME${n % 100}`,
      });
    } else {
      email.push({
        IndividualId: id,
        EmailAddress: `customer${n}@example.com`,
        customInput: {
          Order_Number: `SO-${100_000 + n}`,
          Total: Math.round(n * 1.37) / 100,
          Currency: 'EUR',
        },
      });
    }
  }
  return [
    { flow: 'Welcome_SMS', inputs: sms },
    { flow: 'Order_Confirmation_Email', inputs: email },
  ];
}
