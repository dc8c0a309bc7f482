import Testing
import VitreousDemo
import VitreousModel
@testable import VitreousRepair
import VitreousTensor

/// Register-neuron discovery (RegisterRepair.md, "Finding register neurons") on the planted model, whose register neuron is
/// known: block 2, unit 7.
@Suite("Register neuron search")
struct RegisterNeuronSearchTests {
    static let devices: [Device] = Device.all

    @Test("finds the planted register neuron; without the layer cap the amplifier ranks first", arguments: devices)
    func findsPlantedNeuron(device: Device) throws {
        let encoder = ViTEncoder(weights: try PlantedArtifacts.weights(variant: .planted).tensors(on: device))
        let images = try (0..<20).map { seed in
            try Tensor(PlantedArtifacts.image(layout: .isolated, seed: 100 + UInt64(seed)), shape: [1, 3, 224, 224],
                       on: device)
        }
        let capped = try RegisterNeuronSearch(detectLayer: 5, topLayer: 2, topK: 3, detector: .absolute(threshold: 100))
            .run(encoder: encoder, images: images)
        #expect(capped.imagesUsed == 20)
        #expect(capped.scores[0].layer == 2 && capped.scores[0].neuron == 7, "\(capped.scores)")
        #expect(abs(capped.scores[0].score - 4.0) < 0.3, "\(capped.scores)")
        #expect(capped.scores[1].score <= 0.5, "\(capped.scores)")
        #expect(capped.registers.neurons[2] == [7])

        let uncapped = try RegisterNeuronSearch(detectLayer: 5, topLayer: 5, topK: 3, detector: .absolute(threshold: 100))
            .run(encoder: encoder, images: images)
        for score in uncapped.scores {
            #expect((3...5).contains(score.layer) && score.neuron == 11, "\(uncapped.scores)")
            #expect(abs(score.score - 8) < 1.5, "\(uncapped.scores)")
        }
    }

    @Test("no artifacts anywhere is an error that says what to change")
    func nothingFlagged() throws {
        let encoder = ViTEncoder(weights: try PlantedArtifacts.weights(variant: .planted).tensors(on: .cpu))
        let image = try Tensor(PlantedArtifacts.image(layout: .none, seed: 1), shape: [1, 3, 224, 224], on: .cpu)
        #expect(throws: RepairError.self) {
            try RegisterNeuronSearch(detectLayer: 5, topLayer: 2).run(encoder: encoder, images: [image])
        }
        #expect(throws: RepairError.self) {
            try RegisterNeuronSearch(detectLayer: 9, topLayer: 2).run(encoder: encoder, images: [image])
        }
    }
}
