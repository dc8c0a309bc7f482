import Testing
@testable import VitreousTensor
import VitreousTesting

@Suite("Test-time register neuron shift")
struct NeuronShiftTests {
    @Test("both rules match the reference exactly, and the input is left alone",
          arguments: testDevices, NeuronShiftRule.allCases)
    func matchesReference(device: Device, rule: NeuronShiftRule) throws {
        var random = TestRandom()
        let (batch, tokens, hidden) = (3, 1 + 4 + 12 + 1, 37)
        let values = random.normal(batch * tokens * hidden, std: 2)
        let neurons = [5, 0, 36, 17]
        let (registers, patches) = (17..<18, 5..<17)
        let h = try Tensor(values, shape: [batch, tokens, hidden], on: device)
        let out = try shiftNeurons(h, neurons: neurons, registers: registers, patches: patches, rule: rule, scale: 2)
        let reference = Reference.shiftNeurons(values.doubles, batch: batch, tokens: tokens, hidden: hidden,
                                               neurons: neurons, registers: registers, patches: patches, rule: rule,
                                               scale: 2)
        #expect(try out.toArray().doubles == reference, "\(device) \(rule) seed \(random.seed)")
        #expect(try h.toArray() == values)
    }

    @Test("the joint rule keeps the sign of the largest magnitude", arguments: testDevices)
    func jointSign(device: Device) throws {
        // One item, tokens CLS, patch, patch, register; neurons 0 and 1.
        let h: [Float] = [1, 2, 0.5, -9, 3, 0.1, 0, 0]
        let out = try shiftNeurons(try Tensor(h, shape: [1, 4, 2], on: device), neurons: [0, 1],
                                   registers: 3..<4, patches: 1..<3).toArray()
        #expect(out == [1, 2, 0, 0, 0, 0, -9, -9])
    }

    @Test("bad arguments are refused")
    func errors() throws {
        let h = try Tensor.zeros(shape: [1, 4, 2], on: .cpu)
        #expect(throws: VitreousError.self) { try shiftNeurons(h, neurons: [2], registers: 3..<4, patches: 1..<3) }
        #expect(throws: VitreousError.self) { try shiftNeurons(h, neurons: [0], registers: 3..<5, patches: 1..<3) }
    }
}
