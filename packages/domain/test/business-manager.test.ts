import { assert, describe, it } from "@effect/vitest"
import { BusinessManager, Errors } from "../src/index.js"
import { deciderSpec } from "../testing/index.js"
import { BM } from "./fixtures.js"

const spec = deciderSpec(BusinessManager.BusinessManagerDecider)
const registered = BusinessManager.BusinessManagerRegistered.make({ businessManagerId: BM, name: "Acme", via: "operator", at: 1 })

describe("BusinessManager decider", () => {
  describe("RegisterBusinessManager", () => {
    it("registers a new Business Manager", () =>
      spec.given([]).when({ _tag: "RegisterBusinessManager", businessManagerId: BM, name: "Acme", at: 1 }).then([registered]))
    it("does nothing when repeated", () =>
      spec.given([registered]).when({ _tag: "RegisterBusinessManager", businessManagerId: BM, name: "Acme", at: 2 }).thenNothing())
    it("does nothing when repeated without a name", () =>
      spec.given([registered]).when({ _tag: "RegisterBusinessManager", businessManagerId: BM, name: null, at: 2 }).thenNothing())
    it("renames", () =>
      spec.given([registered]).when({ _tag: "RegisterBusinessManager", businessManagerId: BM, name: "Acme Ltd", at: 2 }).then([
        BusinessManager.BusinessManagerRenamed.make({ businessManagerId: BM, name: "Acme Ltd", at: 2 })
      ]))
  })

  describe("DiscoverBusinessManager", () => {
    it("creates the record of a Business Manager first seen in a webhook", () =>
      spec.given([]).when({ _tag: "DiscoverBusinessManager", businessManagerId: BM, at: 5 }).then([
        BusinessManager.BusinessManagerRegistered.make({ businessManagerId: BM, name: null, via: "webhook", at: 5 })
      ]))
    it("does nothing for a known one", () =>
      spec.given([registered]).when({ _tag: "DiscoverBusinessManager", businessManagerId: BM, at: 5 }).thenNothing())
  })

  describe("IssueOnboardingInvitation", () => {
    const cmd = { _tag: "IssueOnboardingInvitation", businessManagerId: BM, link: "https://hub.360dialog.com/mmlite-tos", at: 10 } as const
    it("records an invitation", () =>
      spec.given([registered]).when(cmd).then([
        BusinessManager.OnboardingInvitationIssued.make({ businessManagerId: BM, link: cmd.link, at: 10 })
      ]))
    it("does nothing when the same invitation is recorded again", () =>
      spec.given([registered, BusinessManager.OnboardingInvitationIssued.make({ businessManagerId: BM, link: cmd.link, at: 10 })])
        .when(cmd).thenNothing())
    it("records a later invitation; an older one changes nothing", () => {
      const issued = BusinessManager.OnboardingInvitationIssued.make({ businessManagerId: BM, link: cmd.link, at: 10 })
      spec.given([registered, issued]).when({ ...cmd, at: 20 }).then([
        BusinessManager.OnboardingInvitationIssued.make({ businessManagerId: BM, link: cmd.link, at: 20 })
      ])
      spec.given([registered, issued]).when({ ...cmd, at: 5 }).thenNothing()
    })
    it("rejects an invitation for an unknown Business Manager", () =>
      spec.given([]).when(cmd).thenFails(new Errors.NotRegistered({ entity: "business_manager", id: BM })))
  })

  describe("RecordMetaOnboardingRequest", () => {
    const cmd = { _tag: "RecordMetaOnboardingRequest", businessManagerId: BM, requestId: "893436979557695", alreadyInvited: false, solutionId: null, at: 30 } as const
    const { _tag: _, ...fields } = cmd
    const requested = BusinessManager.MetaOnboardingRequested.make(fields)
    it("records Meta's request id", () => spec.given([registered]).when(cmd).then([BusinessManager.MetaOnboardingRequested.make(fields)]))
    it("records a duplicate answer as already invited, without a request id", () =>
      spec.given([registered]).when({ ...cmd, requestId: null, alreadyInvited: true, solutionId: "1234" }).then([
        BusinessManager.MetaOnboardingRequested.make({ ...fields, requestId: null, alreadyInvited: true, solutionId: "1234" })
      ]))
    it("does nothing when Meta answers again with the same request, or when an older answer arrives", () => {
      spec.given([registered, requested]).when({ ...cmd, at: 40 }).thenNothing()
      spec.given([registered, requested]).when({ ...cmd, requestId: "1", at: 20 }).thenNothing()
    })
    it("records a later, different answer (a new request, or a duplicate after it)", () => {
      spec.given([registered, requested]).when({ ...cmd, requestId: "1", at: 40 }).then([
        BusinessManager.MetaOnboardingRequested.make({ ...fields, requestId: "1", at: 40 })
      ])
      spec.given([registered, requested]).when({ ...cmd, requestId: null, alreadyInvited: true, at: 40 }).then([
        BusinessManager.MetaOnboardingRequested.make({ ...fields, requestId: null, alreadyInvited: true, at: 40 })
      ])
    })
    it("counts as an invitation: the state's invitedAt is the latest of either kind", () => {
      const link = BusinessManager.OnboardingInvitationIssued.make({ businessManagerId: BM, link: "https://hub.360dialog.com/mmlite-tos", at: 10 })
      const state = [registered, link, requested].reduce(BusinessManager.evolve, BusinessManager.initialState())
      assert.deepStrictEqual([state.invitedAt, state.metaRequest], [30, { requestId: "893436979557695", alreadyInvited: false, solutionId: null, at: 30 }])
      const later = BusinessManager.OnboardingInvitationIssued.make({ ...link, at: 50 })
      assert.strictEqual(BusinessManager.evolve(state, later).invitedAt, 50)
    })
    it("rejects a request for an unknown Business Manager", () =>
      spec.given([]).when(cmd).thenFails(new Errors.NotRegistered({ entity: "business_manager", id: BM })))
  })

  describe("RecordBusinessTermsSigned", () => {
    const cmd = { _tag: "RecordBusinessTermsSigned", businessManagerId: BM, signedAt: 1_764_000_000_000, at: 1_764_000_001_000 } as const
    const signed = BusinessManager.BusinessTermsSigned.make({ businessManagerId: BM, signedAt: cmd.signedAt, at: cmd.at })
    it("signs the whole Business Manager", () => spec.given([registered]).when(cmd).then([signed]))
    it("creates an unknown Business Manager rather than dropping the webhook", () =>
      spec.given([]).when(cmd).then([
        BusinessManager.BusinessManagerRegistered.make({ businessManagerId: BM, name: null, via: "webhook", at: cmd.at }),
        signed
      ]))
    it("does nothing when repeated", () => spec.given([registered, signed]).when(cmd).thenNothing())
    it("does nothing for a later signature of an already signed BM", () =>
      spec.given([registered, signed]).when({ ...cmd, signedAt: cmd.signedAt + 1000 }).thenNothing())
    it("keeps the earliest signature when an older webhook arrives late", () =>
      spec.given([registered, signed]).when({ ...cmd, signedAt: cmd.signedAt - 1000 }).then([
        BusinessManager.BusinessTermsSigned.make({ businessManagerId: BM, signedAt: cmd.signedAt - 1000, at: cmd.at })
      ]))
  })
})
